"""Photos on the device: shrunk before they are kept, uploaded on their own queue.

`shrink` (Pillow: long edge at most 1,600 px, JPEG, orientation applied, EXIF dropped except GPS
where the worker's setting keeps it) turns what the camera or the file picker gave into the bytes
the store keeps (`Store.add_photo`, in the same transaction as the record that names them) and
whose sha256 names them everywhere. `upload` sends the kept photos to the server, resumable from
the last byte it holds, after the records' sync and never in its way. `fetch` brings others'
photos: the thumbnails of the matters on the device after each sync, a whole photo on demand.
"""

from field_app.photos.shrink import KEEP_GPS_ENV, PhotoUnreadable, keep_gps_setting, shrink

__all__ = ["KEEP_GPS_ENV", "PhotoUnreadable", "keep_gps_setting", "shrink"]

"""Files the server writes for people: spreadsheets to download (the missed list)."""

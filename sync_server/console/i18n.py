"""Every text of the console in Chinese (the default) and English: one catalogue, key -> (zh, en).

A tuple per key makes a text without its translation a syntax-level omission rather than a gap
found in production; `tests/sync_server/console/test_i18n.py` checks both are filled in and that
every key a template or route uses is here. Enumeration labels reuse the Chinese of
`shared.schema`, so the console and the app name things alike.
"""

from __future__ import annotations

from shared.messages import FIELD_NAMES_ZH
from shared.schema import (
    LEVEL_ZH,
    RELATION_ZH,
    RESIDENCE_STATUS_ZH,
    ROLE_ZH,
    TAG_ZH,
    VISIT_OUTCOME_ZH,
)

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_TEXTS: dict[str, tuple[str, str]] = {
    "app.name": ("网格通 管理台", "GridSweep Console"),
    # navigation
    "nav.dashboard": ("网格概览", "Grid"),
    "nav.fleet": ("设备", "Devices"),
    "nav.review": ("审核", "Review"),
    "nav.changes": ("变更记录", "Changes"),
    "nav.campaigns": ("活动", "Campaigns"),
    "nav.conflicts": ("冲突处理", "Conflicts"),
    "nav.users": ("人员管理", "Users"),
    "nav.import": ("数据导入", "Import"),
    "nav.logout": ("退出", "Sign out"),
    # generic actions, filters, pager
    "action.show": ("查看", "Show"),
    "action.search": ("搜索", "Search"),
    "action.view": ("查看", "View"),
    "action.select": ("选择", "Select"),
    "action.select_all": ("全选", "Select all"),
    "filter.all": ("全部", "All"),
    "pager.previous": ("上一页", "Previous"),
    "pager.next": ("下一页", "Next"),
    "pager.page": ("第 {n} 页", "Page {n}"),
    "pager.page_of": ("第 {n} / {pages} 页", "Page {n} of {pages}"),
    # time
    "time.never": ("从未", "never"),
    "time.just_now": ("刚刚", "just now"),
    "time.minutes_ago": ("{n} 分钟前", "{n} min ago"),
    "time.hours_ago": ("{n} 小时前", "{n} h ago"),
    "time.days_ago": ("{n} 天前", "{n} days ago"),
    # sign-in
    "login.title": ("管理台登录", "Sign in to the console"),
    "login.intro": (
        "供村居/片区管理人员和平台管理员使用。网格员请使用手机应用。",
        "For supervisors and administrators. Grid workers use the phone app.",
    ),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.error.invalid_credentials": ("用户名或密码错误", "Wrong username or password"),
    "login.error.account_inactive": ("该账号已停用", "This account has been deactivated"),
    "login.error.worker_refused": (
        "网格员账号不能登录管理台，请使用手机应用",
        "Grid worker accounts cannot use the console; please use the phone app",
    ),
    "login.error.too_many_attempts": (
        "登录失败次数过多，请稍后再试",
        "Too many failed sign-ins; please try again in a few minutes",
    ),
    # column headers
    "col.grid": ("网格", "Grid"),
    "col.grids": ("负责网格", "Grids"),
    "col.level": ("层级", "Level"),
    "col.building": ("楼栋", "Building"),
    "col.unit": ("单元", "Unit"),
    "col.room": ("房号", "Room"),
    "col.address": ("地址", "Address"),
    "col.worker": ("网格员", "Worker"),
    "col.device": ("设备", "Device"),
    "col.app_version": ("应用版本", "App version"),
    "col.state": ("状态", "State"),
    "col.status": ("结果", "Result"),
    "col.entity": ("记录类型", "Record type"),
    "col.when": ("时间", "When"),
    "col.who": ("操作人", "Who"),
    "col.record": ("记录", "Record"),
    "col.kind": ("类型", "Kind"),
    "col.change": ("修改内容", "Change"),
    "col.field": ("字段", "Field"),
    "col.fields": ("涉及字段", "Fields"),
    "col.before": ("修改前", "Before"),
    "col.after": ("修改后", "After"),
    "col.details": ("内容", "Details"),
    "col.decision": ("审核", "Decision"),
    "col.reason": ("原因", "Reason"),
    "col.role": ("角色", "Role"),
    # counts
    "count.residents": ("居民", "Residents"),
    "count.households": ("住户", "Households"),
    "count.houses": ("房屋", "Houses"),
    # home
    "home.title": ("网格概览", "Overview"),
    "home.pending_reviews": ("待审核", "Awaiting review"),
    "home.open_conflicts": ("待处理冲突", "Open conflicts"),
    "home.stale_devices": ("超过一天未同步的设备", "Devices not synced for a day"),
    "home.never_synced": ("其中 {n} 台已登录、从未同步", "of them {n} signed in, never synced"),
    "home.your_grids": ("我的网格", "Your grids"),
    "home.running_campaigns": ("进行中的活动", "Running campaigns"),
    "home.no_grids": ("您还没有分配网格，请联系平台管理员", "No grid is assigned to you yet"),
    # grid drill-down
    "grid.breadcrumb": ("网格层级", "Grid levels"),
    "grid.workers": ("网格员", "Grid workers"),
    "grid.no_worker": ("本网格暂无网格员", "No worker holds this grid"),
    "grid.give_to": ("交给网格员", "Hand over to worker"),
    "grid.give_placeholder": ("输入用户名", "username"),
    "grid.give": ("移交网格", "Hand over"),
    "grid.give_confirm": (
        "确定把本网格移交给该网格员吗？原网格员的手机将在下次同步时移除本网格的数据。",
        "Hand this grid over? The previous worker's phones drop its data at their next sync.",
    ),
    "grid.give_hint": (
        "移交后，双方手机在下次同步时自动调整数据范围。",
        "Both workers' phones adjust what they hold at their next sync.",
    ),
    "grid.houses": ("房屋", "Houses"),
    "grid.no_houses": ("本网格还没有房屋数据", "No houses in this grid yet"),
    "grid.search": ("查找房屋", "Find a house"),
    "grid.search_placeholder": ("房号、地址或住户姓名", "room, address or resident's name"),
    "grid.search_clear": ("显示全部", "Show all"),
    "grid.houses_total": ("共 {total} 户", "{total} houses"),
    "grid.houses_matching": (
        "“{q}”：{total} 户中 {n} 户符合",
        "“{q}”: {n} of {total} houses",
    ),
    "grid.houses_shown": ("显示第 {first}–{last} 户", "showing {first}–{last}"),
    "grid.no_match": ("没有符合的房屋", "No house matches"),
    "grid.vacant": ("空置", "vacant"),
    # house
    "house.current": ("现住人员", "Living here"),
    "house.past": ("已迁出人员", "Moved out"),
    "house.nobody": ("无", "Nobody"),
    # fleet
    "fleet.title": ("设备与同步", "Devices and sync"),
    "fleet.intro": (
        "每位网格员的手机、最近同步时间，以及手机上尚未上传的修改（由手机在同步时报告）。",
        "Every worker's phones, when they last synced, and changes still waiting on the "
        "phone (as the phone reported at its last sync).",
    ),
    "fleet.last_sync": ("最近同步", "Last sync"),
    "fleet.pending": ("待上传", "Waiting"),
    "fleet.oldest": ("最早未上传修改", "Oldest unsynced change"),
    "fleet.unknown": ("未知", "unknown"),
    "fleet.no_device": ("尚未登录过手机", "No device yet"),
    "fleet.nobody": ("没有网格员", "No workers"),
    "fleet.stale": ("超过一天未同步", "Not synced for a day"),
    "fleet.never_synced": ("从未同步", "Never synced"),
    "fleet.signed_in_at": ("未同步（{when}登录）", "not yet (signed in {when})"),
    "fleet.ok": ("正常", "OK"),
    "device.revoked": ("已停用", "Revoked"),
    "device.revoked_at": ("{when} 已停用", "revoked {when}"),
    "device.active": ("使用中", "In use"),
    "device.revoke": ("停用设备", "Revoke"),
    "device.revoke_confirm": (
        "确定停用该设备吗？它将无法再同步，也不能再登录。",
        "Revoke this device? It can no longer sync or sign in.",
    ),
    "device.revoke_hint": (
        "手机丢失时停用该设备：其下一次请求会被拒绝；该用户可在新手机上重新登录。",
        "Revoke a lost phone: its next request is refused; the user signs in on a new phone.",
    ),
    # changes and history
    "changes.title": ("最近变更", "Recent changes"),
    "changes.none": ("没有变更记录", "No changes"),
    "history.title": ("修改历史", "History"),
    "history.link": ("修改历史", "History"),
    "history.current": ("当前数据", "Current values"),
    "history.version": ("版本 {n}", "version {n}"),
    "history.updated": ("{when} 由 {who} 更新", "updated {when} by {who}"),
    "history.deleted": ("已删除", "deleted"),
    "history.not_on_server": (
        "服务器上没有这条记录（可能因重复被合并或舍弃）",
        "The server holds no such record (it may have been merged or discarded as a duplicate)",
    ),
    "history.audit": ("审计记录", "Audit trail"),
    "audit.when": ("时间", "When"),
    "audit.action": ("操作", "Action"),
    "audit.who": ("操作人", "Who"),
    "audit.ip": ("IP 地址", "IP address"),
    "audit.login": ("登录", "Signed in"),
    "audit.login_failed": ("登录失败", "Failed sign-in"),
    "audit.login_locked": ("登录被锁定", "Sign-in locked"),
    "audit.conflict_settled": ("处理冲突", "Settled a conflict"),
    "audit.export": ("导出", "Export"),
    "audit.import": ("导入数据", "Import"),
    "audit.review_approved": ("审核通过", "Approved a change"),
    "audit.review_sent_back": ("审核退回", "Sent a change back"),
    "audit.user_added": ("新增人员", "Added a user"),
    "audit.user_activated": ("启用账号", "Activated an account"),
    "audit.user_deactivated": ("停用账号", "Deactivated an account"),
    "audit.user_signed_out": ("使账号全部登录失效", "Signed an account out everywhere"),
    "audit.grids_assigned": ("调整负责网格", "Changed assigned grids"),
    "audit.grid_given": ("移交网格", "Handed a grid over"),
    "audit.device_revoked": ("停用设备", "Revoked a device"),
    "audit.change": ("数据修改", "Data change"),
    # the audit trail page
    "nav.audit": ("审计日志", "Audit trail"),
    "audit.title": ("审计日志", "Audit trail"),
    "audit.intro": (
        "谁在何时、用哪台设备做了什么：登录、数据修改、冲突处理、审核、导出、导入和人员设备管理。",
        "Who did what, when and from which device: sign-ins, data changes, conflict settlements, "
        "reviews, exports, imports, and user and device management.",
    ),
    "audit.scope_note": (
        "仅显示您负责网格内的记录，以及本辖区人员的操作。",
        "Only records in your grids, and what the people assigned to them did.",
    ),
    "audit.filter_user": ("操作人（用户名）", "Who (username)"),
    "audit.filter_since": ("从", "From"),
    "audit.filter_until": ("到", "To"),
    "audit.record": ("记录", "Record"),
    "audit.details": ("内容", "Details"),
    "audit.none": ("没有符合条件的记录", "Nothing matches"),
    "audit_detail.export": ("导出内容", "Exported"),
    "audit_detail.format": ("格式", "Format"),
    "audit_detail.via": ("途径", "Via"),
    "audit_detail.kind": ("类型", "Kind"),
    "audit_detail.files": ("文件", "Files"),
    "audit_detail.rows_read": ("读取行数", "Rows read"),
    "audit_detail.rows": ("行数", "Rows"),
    "audit_detail.imported": ("导入条数", "Imported"),
    "audit_detail.rejected": ("错误", "Errors"),
    "audit_detail.counts": ("结果", "Result"),
    "audit_detail.of": ("对象", "Of"),
    "audit_detail.role": ("角色", "Role"),
    "audit_detail.grids": ("网格", "Grids"),
    "audit_detail.before": ("之前", "Before"),
    "audit_detail.after": ("之后", "After"),
    "audit_detail.grid": ("网格", "Grid"),
    "audit_detail.to": ("移交给", "To"),
    "audit_detail.device_name": ("设备名称", "Device name"),
    "audit_detail.code": ("原因代码", "Reason code"),
    "audit_detail.choice": ("处理方式", "Choice"),
    "audit_detail.reason": ("原因", "Reason"),
    "audit_value.via.console": ("管理台", "console"),
    "audit_value.via.api": ("手机/接口", "app/API"),
    "audit_value.via.cli": ("服务器命令行", "server command line"),
    "audit_value.export.residents": ("居民名单", "resident list"),
    "audit_value.export.missed": ("未完成名单", "missed list"),
    "audit_value.kind.grid": ("基础数据", "grid base data"),
    "audit_value.kind.completions": ("平台完成数据", "platform completions"),
    "audit_value.kind.new_resident": ("新增居民", "new resident"),
    "audit_value.kind.move_out": ("迁出", "move-out"),
    "audit_value.kind.field": ("同时修改", "both edited"),
    "audit_value.kind.delete": ("删除与修改", "delete vs edit"),
    "audit_value.kind.duplicate": ("重复居民", "duplicate resident"),
    "audit_value.role.worker": ("网格员", "grid worker"),
    "audit_value.role.supervisor": ("管理人员", "supervisor"),
    "audit_value.role.handler": ("承办人员", "handler"),
    "audit_value.role.admin": ("平台管理员", "administrator"),
    "audit_value.code.invalid_credentials": ("用户名或密码错误", "wrong username or password"),
    "audit_value.code.account_inactive": ("账号已停用", "account deactivated"),
    "audit_value.choice.server": ("保留服务器的值", "kept the server's values"),
    "audit_value.choice.device": ("采用手机的值", "took the device's values"),
    "audit_value.choice.values": ("填写了新值", "entered values"),
    "audit_value.choice.merge": ("合并为同一人", "merged into one person"),
    "audit_value.choice.discard": ("舍弃新记录", "discarded the new record"),
    "history.events": ("历史", "Events"),
    "history.no_events": (
        "没有通过手机同步的修改（可能来自导入）",
        "No synced changes (imported?)",
    ),
    "history.no_fields": ("无字段变化", "No field changed"),
    "history.merged_from": ("来自合并的重复记录", "from a merged duplicate"),
    "history.conflict_raised": ("产生冲突：{kind}", "Conflict raised: {kind}"),
    "history.open_conflict": ("查看冲突", "Open the conflict"),
    "history.conflict_settled": (
        "{who} 处理了冲突：{choice}",
        "{who} settled the conflict: {choice}",
    ),
    # review
    "review.title": ("审核", "Review"),
    "review.intro": (
        "网格员新增的居民和迁出记录。退回时填写原因，网格员的手机在下次同步时收到。",
        "Residents added and move-outs recorded by workers. A send-back reaches the worker's "
        "phone, with its reason, at its next sync.",
    ),
    "review.tab.pending": ("待审核", "Pending"),
    "review.tab.sent_back": ("已退回", "Sent back"),
    "review.tab.approved": ("已通过", "Approved"),
    "review.kind.new_resident": ("新增居民", "New resident"),
    "review.kind.move_out": ("迁出", "Move-out"),
    "review.approve": ("通过", "Approve"),
    "review.approve_selected": ("通过所选", "Approve selected"),
    "review.approve_selected_confirm": ("确定通过所选的记录吗？", "Approve the selected changes?"),
    "review.send_back": ("退回", "Send back"),
    "review.reason": ("退回原因", "Reason"),
    "review.reason_placeholder": ("退回原因（必填）", "Reason (required)"),
    "review.seen": ("网格员手机已收到", "Received by the worker's phone"),
    "review.not_seen": ("等待网格员手机同步", "Waiting for the worker's phone to sync"),
    "review.none": ("没有需要审核的记录", "Nothing to review"),
    # conflicts
    "conflicts.title": ("冲突处理", "Conflicts"),
    "conflicts.intro": (
        "两台手机改了同一项数据、删除了他人修改过的记录，或新增了身份证号重复的居民，需要您决定。",
        "Two phones changed the same value, a phone deleted a record someone else had changed, "
        "or a new resident has an ID number already on file: you decide.",
    ),
    "conflicts.status.open": ("待处理", "Open"),
    "conflicts.status.resolved": ("已处理", "Settled"),
    "conflicts.none": ("没有冲突", "No conflicts"),
    "conflicts.settle": ("处理", "Settle"),
    "conflicts.bulk_label": ("批量处理所选", "Settle the selected"),
    "conflicts.bulk.server": ("保留服务器的值", "Keep the server's values"),
    "conflicts.bulk.device": ("采用手机的值", "Take the device's values"),
    "conflicts.bulk.merge": ("重复居民：合并为同一人", "Duplicates: merge into one person"),
    "conflicts.bulk.discard": ("重复居民：舍弃新记录", "Duplicates: discard the new record"),
    "conflicts.bulk_submit": ("批量处理", "Settle selected"),
    "conflicts.bulk_confirm": ("确定批量处理所选冲突吗？", "Settle all selected conflicts?"),
    "conflicts.bulk_result": (
        "已处理 {ok} 个，{failed} 个未能处理",
        "{ok} settled, {failed} failed",
    ),
    "conflict.title": ("处理冲突", "Settle a conflict"),
    "conflict.meta": (
        "{who} 的手机 {device} 于 {when} 提交",
        "pushed by {who} from {device} at {when}",
    ),
    "conflict.settled_by": (
        "已由 {who} 于 {when} 处理：{choice}",
        "Settled by {who} at {when}: {choice}",
    ),
    "conflict.field_intro": (
        "每一项选择保留服务器的值、采用手机的值，或填写正确的值。",
        "For each field keep the server's value, take the device's, or enter the right one.",
    ),
    "conflict.base": ("原值（手机修改前）", "Base (before the device's edit)"),
    "conflict.server": ("服务器现值", "Server"),
    "conflict.device": ("手机提交的值", "Device"),
    "conflict.other": ("填写其他值", "Other value"),
    "conflict.delete_intro": (
        "手机删除了这条记录，但服务器上它已被他人修改。",
        "A device deleted this record after someone else had changed it on the server.",
    ),
    "conflict.keep_record": ("保留记录", "Keep the record"),
    "conflict.delete_record": ("删除记录", "Delete the record"),
    "conflict.duplicate_intro": (
        "手机新增的居民与已有居民身份证号相同。",
        "A device added a resident whose ID number an existing resident already has.",
    ),
    "conflict.existing": ("已有居民", "Existing resident"),
    "conflict.new_person": ("手机新增", "Added on the device"),
    "conflict.held": ("随新增人员提交、暂缓执行的修改", "Changes held back with the new person"),
    "conflict.merge": (
        "是同一人：合并（人房绑定和历史归入已有居民）",
        "Same person: merge (bindings and history go to the existing resident)",
    ),
    "conflict.discard": ("舍弃新增记录", "Discard the new record"),
    "conflict.keep_both": (
        "不是同一人：保留，并更正身份证号",
        "Different people: keep, with a corrected ID number",
    ),
    "conflict.corrected_id": ("更正后的身份证号", "Corrected ID number"),
    "conflict.submit": ("确认处理", "Settle"),
    # users and devices
    "users.title": ("人员管理", "Users"),
    "users.search": ("搜索", "Search"),
    "users.show_inactive": ("包括已停用", "Include deactivated"),
    "users.add": ("新增人员", "Add a user"),
    "users.display_name": ("姓名", "Name"),
    "users.initial_password": ("初始密码（至少8位）", "Initial password (8+ characters)"),
    "users.grid_codes": ("网格编码", "Grid codes"),
    "users.org": ("所属单位（承办人员）", "Organisation (handlers)"),
    "users.org_hint": (
        "承办人员须填写所属入网单位名称；未填网格编码时负责该单位服务的社区",
        "A handler names their organisation; without grid codes they serve its community",
    ),
    "users.grid_codes_hint": (
        "每行一个编码。网格员只能分配五级网格；管理人员分配其负责的上级网格。",
        "One code per line. Workers get level-5 grids; supervisors the node they oversee.",
    ),
    "users.add_submit": ("新增", "Add"),
    "users.none": ("没有符合条件的人员", "No users match"),
    "users.truncated": ("只显示前500人，请缩小范围", "Showing the first 500; narrow the search"),
    "user.active": ("在用", "Active"),
    "user.inactive": ("已停用", "Deactivated"),
    "user.activate": ("启用账号", "Reactivate"),
    "user.deactivate": ("停用账号", "Deactivate"),
    "user.sign_out_everywhere": ("全部退出登录", "Sign out everywhere"),
    "user.sign_out_confirm": (
        "确定让该用户在所有手机和电脑上退出登录吗？账号不停用，可用密码重新登录。",
        "Sign this user out on every phone and browser? The account stays active; they can sign "
        "in again with their password.",
    ),
    "user.activate_confirm": ("确定重新启用该账号吗？", "Reactivate this account?"),
    "user.deactivate_confirm": (
        "确定停用该账号吗？该用户在所有设备上立即退出登录。",
        "Deactivate this account? The user is signed out everywhere at once.",
    ),
    "user.no_grids": ("未分配网格", "No grids"),
    "user.grids_hint": (
        "保存后，该用户的手机在下次同步时调整数据范围。",
        "Their phones adjust what they hold at their next sync.",
    ),
    "user.save_grids": ("保存网格分配", "Save grids"),
    "user.devices": ("设备", "Devices"),
    "user.registered": ("首次登录", "First signed in"),
    # import
    "import.title": ("基础数据导入", "Grid base-data import"),
    "import.intro": (
        "上传网格、楼栋、房屋和居民数据（Excel 或 CSV）。有错误的行不导入，并在结果中列出。",
        "Upload grids, buildings, houses and residents (Excel or CSV). Rows with errors are "
        "skipped and listed in the report.",
    ),
    "import.template": ("下载导入模板", "Download the template"),
    "import.files": ("文件（.xlsx 或 .csv，可多选）", "Files (.xlsx or .csv, several allowed)"),
    "import.dry_run": ("只检查，不写入", "Check only, write nothing"),
    "import.dry_run_badge": ("仅检查", "check only"),
    "import.submit": ("上传并导入", "Upload and import"),
    "import.busy": ("正在导入，请稍候……", "Importing, please wait…"),
    "import.report": ("导入结果", "Import report"),
    "import.summary": (
        "读取 {rows} 行，其中 {rejected} 行有错误未导入",
        "{rows} rows read, {rejected} rejected",
    ),
    "import.outcome.created": ("新增", "Created"),
    "import.outcome.updated": ("更新", "Updated"),
    "import.outcome.unchanged": ("未变", "Unchanged"),
    "import.outcome.closed": ("结束", "Closed"),
    "import.entity.grid_nodes": ("网格", "Grids"),
    "import.entity.buildings": ("楼栋", "Buildings"),
    "import.entity.units": ("单元", "Units"),
    "import.entity.houses": ("房屋", "Houses"),
    "import.entity.residents": ("居民", "Residents"),
    "import.entity.bindings": ("人房绑定", "Bindings"),
    "import.errors": ("错误（{n}）", "Errors ({n})"),
    "import.sheet": ("表", "Sheet"),
    "import.row": ("行", "Row"),
    "import.column": ("列", "Column"),
    "import.more_errors": (
        "另有 {n} 个错误未显示，请修改后重新导入",
        "{n} more errors not shown; fix and import again",
    ),
    "import.warnings": ("警告（{n}）", "Warnings ({n})"),
    "import.warnings_hint": (
        "这些行已导入；所列的值未导入或已按说明转换，请在原表中核对",
        "These rows were imported; the values named were left out or converted as said: "
        "check them in your sheet",
    ),
    "import.more_warnings": ("另有 {n} 个警告未显示", "{n} more warnings not shown"),
    "import.ignored_columns": (
        "以下列不属于导入格式，已忽略：",
        "Columns not in the import format, ignored: ",
    ),
    # campaigns
    "campaigns.title": ("活动", "Campaigns"),
    "campaigns.unavailable": (
        "本版本尚未启用活动功能。",
        "Campaigns are not available in this build.",
    ),
    "campaigns.none": ("还没有活动", "No campaigns yet"),
    "campaigns.running": ("进行中", "running"),
    "campaign.none": ("不显示活动进度", "No campaign"),
    "error.invalid_campaign": ("活动信息填写有误", "The campaign is not valid"),
    "error.end_before_start": (
        "结束日期早于开始日期，请修改结束日期",
        "The end date is before the start date: correct the end date",
    ),
    "error.age_min_above_max": (
        "最小年龄大于最大年龄，请修改年龄范围",
        "The youngest age is above the oldest: correct the ages",
    ),
    "error.no_such_campaign": (
        "没有该活动，或不在您的网格范围内",
        "No such campaign in your grids",
    ),
    "campaigns.name": ("活动名称", "Name"),
    "campaigns.dates": ("时间", "Dates"),
    "campaigns.create": ("新建活动", "New campaign"),
    "campaigns.start": ("开始日期", "Start date"),
    "campaigns.end": ("结束日期", "End date"),
    "campaigns.grid_code": ("范围（网格编码）", "Scope (grid code)"),
    "campaigns.age_min": ("最小年龄", "Minimum age"),
    "campaigns.age_max": ("最大年龄", "Maximum age"),
    "campaigns.create_submit": ("创建", "Create"),
    "campaign.label": ("活动", "Campaign"),
    "campaign.progress": ("完成进度", "Progress"),
    "campaign.missed": ("漏检", "Missed"),
    "campaign.missed_n": ("漏检 {n} 人", "{n} missed"),
    "campaign.targets": ("目标人数", "Targets"),
    "campaign.done": ("已完成", "Done"),
    "campaign.done_of": ("已完成 {done} / {targets}", "{done} of {targets} done"),
    "campaign.import_title": ("导入平台完成数据", "Import platform completions"),
    "campaign.import_file": ("完成数据文件（.xlsx 或 .csv）", "Completion file (.xlsx or .csv)"),
    "campaign.import_result": ("{file} 导入结果", "Import of {file}"),
    "campaign.import_counts": (
        "读取 {rows} 行：导入 {imported}，重复 {duplicates}，错误 {rejected}",
        "{rows} rows: {imported} imported, {duplicates} duplicates, {rejected} rejected",
    ),
    # exports
    "export.residents": ("导出居民名单", "Export residents"),
    "export.missed": ("导出漏检名单", "Export missed list"),
    "export.residents_title": ("居民名单", "Residents"),
    "export.missed_title": ("漏检名单", "Missed"),
    # flash messages after a form
    "flash.settled": (
        "冲突已处理，各手机将在下次同步时收到结果",
        "Settled; phones receive it at their next sync",
    ),
    "flash.approved": ("已通过", "Approved"),
    "flash.sent_back": (
        "已退回，网格员手机将在下次同步时收到",
        "Sent back; the worker's phone receives it at its next sync",
    ),
    "flash.user_added": ("已新增人员", "User added"),
    "flash.user_activated": ("账号已启用", "Account reactivated"),
    "flash.user_signed_out": (
        "该账号的所有登录已失效，账号仍可使用",
        "Every sign-in of this account has ended; the account stays active",
    ),
    "flash.user_deactivated": (
        "账号已停用，已在所有设备上退出",
        "Account deactivated and signed out everywhere",
    ),
    "flash.grids_saved": ("网格分配已保存", "Grid assignment saved"),
    "flash.device_revoked": ("设备已停用", "Device revoked"),
    "flash.grid_given": ("网格已移交", "Grid handed over"),
    "flash.campaign_created": ("活动已创建", "Campaign created"),
    # errors
    "error.home": ("返回首页", "Back to the start"),
    "error.generic": ("出错了", "Something went wrong"),
    "error.status_400": ("请求有误", "Bad request"),
    "error.status_401": ("请先登录", "Please sign in"),
    "error.status_403": ("没有权限", "Not allowed"),
    "error.status_404": ("没有找到", "Not found"),
    "error.status_409": ("与现有数据冲突", "Conflicts with existing data"),
    "error.status_422": ("填写的内容有误", "Some input is not valid"),
    "error.status_500": ("服务器出错", "Server error"),
    "error.worker_refused": (
        "网格员账号不能使用管理台，请使用手机应用",
        "Grid workers cannot use the console; please use the phone app",
    ),
    "error.admin_only": ("只有平台管理员可以进行此操作", "Only an administrator can do this"),
    "error.forbidden": ("没有权限", "Not allowed"),
    "error.out_of_scope": ("不在您负责的网格范围内", "Outside your grids"),
    "error.csrf": (
        "页面已过期，请刷新后重试",
        "This page has expired; reload it and try again",
    ),
    "error.not_found": ("没有找到，或不在您的网格范围内", "Not found, or outside your grids"),
    "error.invalid_form": ("表单填写不完整", "The form is incomplete"),
    "error.invalid": ("填写的内容有误", "Some input is not valid"),
    "error.invalid_value": ("填写的值不符合要求", "A value is not valid"),
    "error.values_missing": ("请为每一项填写值", "Enter a value for every field"),
    "error.choice_missing": ("请选择处理方式", "Choose how to settle"),
    "error.already_resolved": ("该冲突已被处理", "This conflict has already been settled"),
    "error.reason_required": ("退回时请填写原因", "Give a reason for sending it back"),
    "error.user_exists": ("用户名已存在", "That username is taken"),
    "error.self_deactivate": ("不能停用自己的账号", "You cannot deactivate your own account"),
    "error.unknown_grid": ("网格编码不存在", "No grid has that code"),
    "error.unknown_user": ("没有该用户", "No such user"),
    "error.not_a_worker": ("只能移交给在用的网格员", "A grid goes to an active grid worker"),
    "error.grid_level": ("只能移交五级网格", "Only a level-5 grid is handed over"),
    "error.file_type": ("只能导入 .xlsx 或 .csv 文件", "Only .xlsx and .csv files can be imported"),
    "error.file_count": ("请选择 1 到 10 个文件", "Choose 1 to 10 files"),
    "error.no_campaigns": ("本版本尚未启用活动功能", "Campaigns are not available in this build"),
    "error.account_inactive": ("该账号已停用", "This account has been deactivated"),
    # record types, operation kinds and results, conflicts
    "entity.grid_node": ("网格", "Grid"),
    "entity.building": ("楼栋", "Building"),
    "entity.unit": ("单元", "Unit"),
    "entity.house": ("房屋", "House"),
    "entity.resident": ("居民", "Resident"),
    "entity.binding": ("人房绑定", "Binding"),
    "op_kind.create": ("新增", "Created"),
    "op_kind.update": ("修改", "Updated"),
    "op_kind.delete": ("删除", "Deleted"),
    "op_status.applied": ("已生效", "Applied"),
    "op_status.merged": ("已合并", "Merged"),
    "op_status.conflict": ("冲突", "Conflict"),
    "op_status.rejected": ("被拒绝", "Rejected"),
    "conflict_kind.field": ("同时修改", "Both edited"),
    "conflict_kind.delete": ("删除与修改", "Delete vs edit"),
    "conflict_kind.duplicate": ("重复居民", "Duplicate resident"),
    "choice.server": ("保留服务器的值", "kept the server's values"),
    "choice.device": ("采用手机的值", "took the device's values"),
    "choice.values": ("填写了新值", "entered values"),
    "choice.merge": ("合并为同一人", "merged into one person"),
    "choice.discard": ("舍弃新记录", "discarded the new record"),
    "sex.M": ("男", "Male"),
    "sex.F": ("女", "Female"),
}

_ENGLISH_ENUMS: dict[str, dict[str, str]] = {
    "role": {
        "worker": "Grid worker",
        "supervisor": "Supervisor",
        "admin": "Administrator",
        "handler": "Handler",
    },
    "level": {"1": "Level 1", "2": "Level 2", "3": "Level 3", "4": "Level 4", "5": "Level 5"},
    "relation": {
        "head": "Head",
        "spouse": "Spouse",
        "child": "Child",
        "parent": "Parent",
        "member": "Family member",
        "tenant": "Tenant",
        "other": "Other",
    },
    "status": {
        "permanent": "Permanent",
        "floating": "Floating",
        "away": "Away",
        "moved_out": "Moved out",
        "deceased": "Deceased",
    },
    "tag": {
        "elderly_alone": "Elderly living alone",
        "disabled": "Disabled",
        "hardship": "Hardship",
        "left_behind_child": "Left-behind child",
    },
    "outcome": {
        "met": "Met",
        "not_home": "Not home",
        "away": "Away",
        "moved_out": "Moved out",
        "refused": "Refused",
        "other": "Other",
        "done_elsewhere": "Done elsewhere",
        "exempt": "Exempt",
    },
    "campaign_kind": {
        "testing": "Testing",
        "vaccination": "Vaccination",
        "verification": "Key-person check",
        "inspection": "Home inspection",
    },
}
# As in shared/campaigns.py; kept here so the console has no import-time tie to campaign code.
_CAMPAIGN_KIND_ZH = {
    "testing": "核酸检测",
    "vaccination": "疫苗接种",
    "verification": "重点人员核查",
    "inspection": "入户排查",
}
_OUTCOME_ZH = {**VISIT_OUTCOME_ZH, "done_elsewhere": "已在他处完成", "exempt": "免于参加"}
_CHINESE_ENUMS: dict[str, dict[str, str]] = {
    "role": ROLE_ZH,
    "level": {str(k): v for k, v in LEVEL_ZH.items()},
    "relation": RELATION_ZH,
    "status": RESIDENCE_STATUS_ZH,
    "tag": TAG_ZH,
    "outcome": _OUTCOME_ZH,
    "campaign_kind": _CAMPAIGN_KIND_ZH,
}

_FIELDS_EN: dict[str, str] = {
    "name": "Name",
    "id_number": "ID number",
    "sex": "Sex",
    "birth_date": "Date of birth",
    "phone": "Phone",
    "residence_status": "Residence status",
    "tags": "Special groups",
    "note": "Note",
    "relation": "Relation",
    "start_date": "Moved in",
    "end_date": "Moved out",
    "resident_id": "Resident",
    "house_id": "House",
    "building_id": "Building",
    "unit_id": "Unit",
    "grid_id": "Grid",
    "parent_id": "Parent grid",
    "level": "Level",
    "code": "Code",
    "road": "Road",
    "lane": "Lane",
    "number": "Number",
    "room": "Room",
    "address": "Address",
    "grid_code": "Grid code",
    "grid_name": "Grid",
    "last_outcome": "Last outcome",
    "last_outcome_at": "Recorded at",
    "_deleted": "Deleted",
}
_FIELDS_ZH_EXTRA: dict[str, str] = {
    "sex": "性别",
    "birth_date": "出生日期",
    "note": "备注",
    "resident_id": "居民",
    "house_id": "房屋",
    "building_id": "楼栋",
    "unit_id": "单元",
    "grid_id": "网格",
    "parent_id": "上级网格",
    "road": "道路",
    "lane": "弄/巷",
    "number": "门牌号",
    "room": "房号",
    "address": "地址",
    "grid_code": "网格编码",
    "grid_name": "网格",
    "last_outcome": "最近走访结果",
    "last_outcome_at": "记录时间",
    "_deleted": "删除",
}


def _catalogue() -> dict[str, tuple[str, str]]:
    texts = dict(_TEXTS)
    for kind, english in _ENGLISH_ENUMS.items():
        chinese = _CHINESE_ENUMS[kind]
        for value, en in english.items():
            texts[f"{kind}.{value}"] = (chinese.get(value, ""), en)
    field_zh = {**FIELD_NAMES_ZH, **_FIELDS_ZH_EXTRA}
    for name, en in _FIELDS_EN.items():
        texts[f"field.{name}"] = (field_zh.get(name, ""), en)
    return texts


CATALOGUE: dict[str, tuple[str, str]] = _catalogue()


def has_key(key: str) -> bool:
    return key in CATALOGUE


class Translator:
    """`t("key", n=3)` in one language; an unknown key shows itself, so a gap is visible."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self._index = LANGS.index(self.lang)

    def __call__(self, key: str, **params: object) -> str:
        texts = CATALOGUE.get(key)
        if texts is None:
            return key
        text = texts[self._index]
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in CATALOGUE

"""Chinese (zh-CN) and English texts for the stable error codes of `shared.errors.FieldError`.

The English sentence travels with each error; this catalogue gives the Chinese one, which is what
our users read. Placeholders are filled from the error's params.
"""

from __future__ import annotations

from shared.errors import FieldError

ZH: dict[str, str] = {
    "required": "{field_zh}为必填项",
    "id_length": "身份证号应为18位（或15位旧号码），当前为{length}位",
    "id_numeric_cell": (
        "身份证号被存成了数字（{value}），Excel 只保留15位有效数字，末几位已丢失；"
        "请把该列设为“文本”后重新填写"
    ),
    "id_characters": "身份证号应为17位数字加1位数字或X",
    "id_region": "身份证号前两位{code}不是有效的省级行政区划代码",
    "id_birth_date": "身份证号中的出生日期{date}不合理",
    "id_check_digit": "身份证号校验位为{got}，应为{expected}，可能有数字输错",
    "phone_characters": "手机号只能包含数字",
    "phone_length": "手机号应为11位，当前为{length}位",
    "phone_prefix": "手机号应以13-19开头，当前为{prefix}",
    "phone_format": "电话号码“{value}”无效：应为11位手机号，或固定电话（如0591-87654321、87654321）",
    "choice": "{field_zh}的值“{value}”无效，可选：{choices}",
    "date_format": "{field_zh}“{value}”不是有效日期（应为 YYYY-MM-DD）",
    "too_long": "{field_zh}过长（最多{max}个字符）",
    "unknown_reference": "{field_zh}“{value}”不存在",
    "duplicate": "{field_zh}“{value}”重复",
    "date_order": "迁出日期不能早于入住日期",
    "future_date": "迁出日期不能晚于今天（{today}）",
    "end_before_start": "结束日期不能早于开始日期",
    "age_min_above_max": "最小年龄不能大于最大年龄",
    "not_a_set": "{field_zh}应为标签列表",
    "unknown_field": "没有“{field_zh}”这一项",
    "not_device_writable": "{field_zh}不能在手机上修改",
    "not_device_creatable": "不能在手机上新建此类记录",
    "not_an_integer": "{field_zh}应为整数",
    "not_text": "{field_zh}应为文字",
    "out_of_scope": "该记录不在您负责的网格内",
    "unbound_resident": "新增人员须在同一次同步中绑定到您网格内的房屋",
    "no_such_record": "服务器上没有这条记录（可能已被删除）",
    "grid_level": "房屋和楼栋只能属于五级网格",
    "wrong_author": "该修改来自其他用户或设备",
    "bad_clock": "修改的时间戳无效",
    "constraint": "该修改与已有数据冲突（例如身份证号重复）",
    "too_large": "修改内容过大，无法上传",
    "missing_base": "缺少修改前的原值，无法合并",
    "missing_clock": "缺少修改时间，无法判断先后",
    "unknown_entity": "未知的记录类型",
    "invalid_characters": "{field_zh}含有无法保存的字符",
    "invalid_value": "请求中有无法保存的值",
    "outcome_detail": "登记“{outcome_zh}”时须填写{field_zh}",
    "datetime_format": "{field_zh}“{value}”不是有效的日期时间（应为 ISO 8601，如 2026-11-28T09:30+08:00）",
    "datetime_range": "{field_zh}“{value}”不合理：应在{earliest}至{latest}（北京时间）之间",
    "append_only": "活动登记一经保存不能修改或删除；如有变化请再登记一条",
    "photo_hash": "照片标识“{value}”无效",
    "too_many_photos": "最多{max}张照片",
    "matter_not_editable": "事项已受理，不能再修改；请通过办理流程处理",
    "stale_transition": "事项状态已变化，现为“{state_zh}”（{state_by} 于 {state_at} 操作）",
    "not_allowed": "您无权对该事项执行此操作",
    "invalid": "该办理步骤无效或缺少必填内容",
    "licence_length": "“{value}”不是有效的证照号码：统一社会信用代码为18位，旧注册号为15位（当前{length}位）",
    "licence_characters": "统一社会信用代码“{value}”含有无效字符（只用数字和除I、O、Z、S、V以外的大写字母）",
    "licence_check": "证照号码“{value}”校验位为{got}，应为{expected}，可能有字符输错",
    "fail_needs_note": "不合格项须写明存在的问题",
    "item_not_in_checklist": "检查项“{value}”不在该商户类型的检查清单中",
    "checklist_incomplete": "还有{n}项未检查",
    "not_business_inspection": "该活动不是商户排查整治活动",
    "not_campaign_target": "该商户的类型不在本次排查整治范围内",
    "not_a_list": "{field_zh}应为列表",
    "not_an_answer": "检查结果格式无效",
    "too_many_results": "检查项最多{max}项",
}

FIELD_NAMES_ZH: dict[str, str] = {
    "id_number": "身份证号",
    "phone": "手机号",
    "name": "姓名",
    "relation": "与户主关系",
    "residence_status": "居住状态",
    "tags": "特殊人群标签",
    "start_date": "入住日期",
    "end_date": "迁出日期",
    "level": "层级",
    "code": "编码",
    "parent_code": "上级编码",
    "grid_code": "网格编码",
    "building": "楼栋",
    "unit": "单元",
    "room": "房号",
    "road": "道路",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "note": "备注",
    "resident_id": "人员",
    "house_id": "房屋",
    "building_id": "楼栋",
    "unit_id": "单元",
    "grid_id": "网格",
    "address": "地址",
    "entity": "记录类型",
    "campaign_id": "活动",
    "outcome": "登记结果",
    "place": "完成地点",
    "reason": "原因",
    "revisit_date": "复访日期",
    "recorded_at": "登记时间",
    "category_id": "事项类别",
    "description": "事项描述",
    "source": "事项来源",
    "urgency": "紧急程度",
    "on_behalf_of": "代为反映人",
    "photos": "照片",
    "reported_at": "上报时间",
    "matter_id": "事项",
    "action": "办理操作",
    "from_state": "原状态",
    "org_id": "单位",
    "user_id": "人员",
    "rating": "评分",
    "comment": "评价内容",
    "at": "时间",
    "visited_at": "走访时间",
    "business_id": "商户",
    "business_type_id": "商户类型",
    "licence_number": "证照号码",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "status": "经营状态",
    "results": "检查结果",
    "checked_at": "检查时间",
}


def message_zh(error: FieldError) -> str:
    """The Chinese sentence for an error, falling back to the English one."""
    template = ZH.get(error.code)
    if template is None:
        return error.message
    params = {"field_zh": FIELD_NAMES_ZH.get(error.field, error.field), **error.params}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return error.message

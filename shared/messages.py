"""Chinese (zh-CN) and English texts for the stable error codes of `shared.errors.FieldError`.

The English sentence travels with each error; this catalogue gives the Chinese one, which is what
our users read. Placeholders are filled from the error's params.
"""

from __future__ import annotations

from shared.errors import FieldError

ZH: dict[str, str] = {
    "required": "{field_zh}为必填项",
    "id_length": "身份证号应为18位，当前为{length}位",
    "id_characters": "身份证号应为17位数字加1位数字或X",
    "id_region": "身份证号前两位{code}不是有效的省级行政区划代码",
    "id_birth_date": "身份证号中的出生日期{date}不合理",
    "id_check_digit": "身份证号校验位为{got}，应为{expected}，可能有数字输错",
    "phone_characters": "手机号只能包含数字",
    "phone_length": "手机号应为11位，当前为{length}位",
    "phone_prefix": "手机号应以13-19开头，当前为{prefix}",
    "choice": "{field_zh}的值“{value}”无效，可选：{choices}",
    "date_format": "{field_zh}“{value}”不是有效日期（应为 YYYY-MM-DD）",
    "too_long": "{field_zh}过长（最多{max}个字符）",
    "unknown_reference": "{field_zh}“{value}”不存在",
    "duplicate": "{field_zh}“{value}”重复",
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

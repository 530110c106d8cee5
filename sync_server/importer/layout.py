"""The documented file layout: the two sheets, their columns, and how headers are recognised.

This is the one declaration of the import format; the template writer, the header mapping and
docs/import-format.md all follow it. Each column has one canonical key (its English alias), a
Chinese header, and a few other headers that offices commonly use for the same thing. Header
matching ignores spaces, full-width/half-width differences, a `*` marking required columns and a
trailing note in parentheses, so "身份证号（必填）" and "ID Number" both find `id_number`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.schema import RELATION_ZH, RESIDENCE_STATUS_ZH, TAG_ZH


@dataclass(frozen=True)
class Column:
    key: str  # canonical key, also accepted as the English header
    zh: str  # the Chinese header the template writes
    required: str  # for people: "是", "否" or the condition
    fmt: str  # format, in Chinese
    example: str
    note: str  # what it means / how it is used, in Chinese
    aliases: tuple[str, ...] = ()  # other headers accepted for this column
    header_required: bool = False  # the sheet is rejected when this column is absent


@dataclass(frozen=True)
class SheetLayout:
    kind: str  # "grid" or "roster"
    zh: str  # sheet name in the template
    csv_suffix: str  # the template's CSV file is <stem>_<csv_suffix>.csv
    names: tuple[str, ...]  # sheet or file names that announce this layout
    columns: tuple[Column, ...]

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns if c.header_required)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


GRID = SheetLayout(
    kind="grid",
    zh="网格",
    csv_suffix="网格",
    names=("网格", "网格表", "网格信息", "grid", "grids"),
    columns=(
        Column(
            "code",
            "编码",
            "是",
            "文本，最多64个字符，全表唯一",
            "HT-01-03-02-05",
            "网格编码，重复导入时按编码匹配已有网格",
            ("网格代码", "代码", "grid_code"),
            header_required=True,
        ),
        Column(
            "name",
            "名称",
            "是",
            "文本，最多200个字符",
            "西门社区第5网格",
            "网格名称；已有网格名称不同时会更新",
            ("网格名称",),
            header_required=True,
        ),
        Column(
            "level",
            "层级",
            "是",
            "1-5 的数字，也可写“五级”“五级网格”",
            "5",
            "1 为最高层，5 为网格员负责的五级网格",
            ("级别", "网格层级"),
            header_required=True,
        ),
        Column(
            "parent_code",
            "上级编码",
            "一级以外必填",
            "文本，须为上一级网格的编码",
            "HT-01-03-02",
            "上级网格可以在本表任意位置，也可以是系统中已有的网格",
            ("上级网格编码", "父级编码", "parent"),
        ),
    ),
)

ROSTER = SheetLayout(
    kind="roster",
    zh="人房",
    csv_suffix="人房",
    names=("人房", "人房信息", "人房表", "人房关系", "roster", "residents", "houses"),
    columns=(
        Column(
            "grid_code",
            "五级网格编码",
            "是",
            "文本，须为五级网格的编码",
            "HT-01-03-02-05",
            "房屋所属的五级网格（本次导入的网格表中或系统中已有）",
            ("网格编码", "所属网格编码", "五级网格", "grid"),
            header_required=True,
        ),
        Column(
            "road", "道路", "地址四项至少填一项", "文本", "西大街", "街路巷名称", ("路名", "街路巷")
        ),
        Column(
            "lane",
            "弄/巷",
            "地址四项至少填一项",
            "文本",
            "12弄",
            "弄或巷，没有则留空",
            ("弄", "巷", "弄巷"),
        ),
        Column(
            "number",
            "门牌号",
            "地址四项至少填一项",
            "文本",
            "3号",
            "门牌号；农村自建房通常只有门牌号",
            ("门牌", "门牌号码"),
        ),
        Column(
            "building",
            "楼栋",
            "地址四项至少填一项",
            "文本",
            "5幢",
            "楼栋名称或编号；独栋自建房留空",
            ("楼号", "楼幢", "幢", "栋", "楼栋号"),
        ),
        Column(
            "unit",
            "单元",
            "否",
            "文本",
            "2单元",
            "单元，没有单元的楼栋和农村房屋留空",
            ("单元号",),
        ),
        Column(
            "room",
            "房号",
            "填写楼栋或单元时必填",
            "文本",
            "301",
            "房间号；独栋自建房可留空，表示整栋为一户",
            ("房间号", "室", "户室号", "室号"),
        ),
        Column(
            "name",
            "姓名",
            "填写人员时必填",
            "文本，最多100个字符",
            "张三",
            "姓名和身份证号都为空（或姓名、备注填“空置”）时，本行只登记房屋（空置房）",
            ("居民姓名",),
        ),
        Column(
            "id_number",
            "身份证号",
            "填写人员时必填",
            "18位，末位可为X；Excel 中请设为文本格式",
            "350128199001011231",
            "按身份证号匹配已有居民；出生日期和性别由身份证号得出",
            ("身份证号码", "公民身份号码", "证件号码", "身份证"),
        ),
        Column(
            "phone",
            "手机号",
            "否",
            "11位手机号，可带 +86；或固定电话，如 0591-87654321、87654321",
            "13812345678",
            "留空或填“无”表示不修改系统中已有的号码；填了多个号码时只导入第一个，并提示",
            ("手机", "手机号码", "联系电话", "电话"),
        ),
        Column(
            "relation",
            "与户主关系",
            "否",
            "见“与户主关系”可选值",
            "户主",
            "留空时新绑定记为“其他”，已有绑定保持不变；户口本上的孙女、儿媳、女婿、兄弟姐妹等"
            "记为“家庭成员”，无法识别的称谓记为“其他”并提示",
            ("关系", "户主关系"),
        ),
        Column(
            "residence_status",
            "居住状态",
            "否",
            "见“居住状态”可选值",
            "常住",
            "留空时新居民记为“常住”，已有居民保持不变",
            ("人员状态", "状态"),
        ),
        Column(
            "tags",
            "特殊人群",
            "否",
            "可填多个，用 , ， 、 ; ； 分隔；填“无”表示清除",
            "独居老人、残疾",
            "留空表示不修改系统中已有的标签",
            ("特殊人群标签", "标签"),
        ),
        Column(
            "start_date",
            "入住日期",
            "否",
            "YYYY-MM-DD，也可为 2024/3/1 或 Excel 日期单元格",
            "2024-03-01",
            "本人入住该房屋的日期；留空为导入当天。迁移时旧绑定在这一天结束",
            ("入住时间", "居住起始日期"),
        ),
        Column(
            "note",
            "备注",
            "否",
            "文本",
            "",
            "居民备注；留空表示不修改",
            ("居民备注",),
        ),
    ),
)

LAYOUTS = (GRID, ROSTER)
PERSON_KEYS = (
    "name",
    "id_number",
    "phone",
    "relation",
    "residence_status",
    "tags",
    "start_date",
    "note",
)
ADDRESS_KEYS = ("road", "lane", "number", "building")

# Words offices write for the enumerations besides the labels in shared.schema. The relations
# of a household register (户口本, GB/T 4761) map onto the schema's seven: the head's spouse,
# children and parents to theirs, every other relative to 家庭成员, which is what the schema
# keeps for them. A word not listed becomes 其他 with a warning naming it (rows.py).
_KIN = (
    "孙子", "孙女", "外孙", "外孙子", "外孙女", "孙子女", "外孙子女", "曾孙", "曾孙子", "曾孙女",
    "儿媳", "媳妇", "女婿", "孙媳妇", "孙女婿", "兄弟姐妹", "兄弟", "姐妹", "兄", "弟", "姐", "妹",
    "哥哥", "弟弟", "姐姐", "妹妹", "嫂", "嫂子", "弟媳", "姐夫", "妹夫", "祖父母", "祖父", "祖母",
    "外祖父母", "外祖父", "外祖母", "爷爷", "奶奶", "外公", "外婆", "公公", "婆婆", "岳父", "岳母",
    "公婆", "岳父母", "侄子", "侄女", "外甥", "外甥女", "亲属", "其他亲属", "家属",
)  # fmt: skip
_CHILDREN = (
    "子", "女", "儿子", "女儿", "长子", "次子", "三子", "四子", "长女", "次女", "三女", "四女",
    "独生子", "独生女", "养子", "养女", "继子", "继女", "之子", "之女",
)  # fmt: skip
RELATION_ALIASES: dict[str, str] = {
    "本人": "head",
    "户主本人": "head",
    "妻": "spouse",
    "夫": "spouse",
    "妻子": "spouse",
    "丈夫": "spouse",
    "爱人": "spouse",
    "老伴": "spouse",
    **dict.fromkeys(_CHILDREN, "child"),
    "父亲": "parent",
    "母亲": "parent",
    "父": "parent",
    "母": "parent",
    "继父": "parent",
    "继母": "parent",
    "养父": "parent",
    "养母": "parent",
    "成员": "member",
    **dict.fromkeys(_KIN, "member"),
    "租客": "tenant",
    "承租人": "tenant",
    "非亲属": "other",
}
STATUS_ALIASES: dict[str, str] = {
    "户籍": "permanent",
    "常住人口": "permanent",
    "流动人口": "floating",
    "暂住": "floating",
    "外来": "floating",
    "去世": "deceased",
    "已故": "deceased",
}
TAG_ALIASES: dict[str, str] = {"独居": "elderly_alone", "残疾人": "disabled"}
# What offices write for "nothing here" in an optional column: no value from this row (a phone
# or a note already in the system stays), except 特殊人群, where it clears the tags.
NONE_WORDS = frozenset({"无", "没有", "暂无", "/", "-", "—", "——", "none", "n/a", "null"})
TAGS_CLEAR = NONE_WORDS
# A house listed with no person: these in 姓名 or 备注, with no ID number, mean it stands empty.
VACANT_WORDS = frozenset({"空置", "空置房", "空房", "空户", "空", "无人居住", "闲置", "空关"})

ENUMERATIONS: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    ("relation", RELATION_ZH, RELATION_ALIASES),
    ("residence_status", RESIDENCE_STATUS_ZH, STATUS_ALIASES),
    ("tags", TAG_ZH, TAG_ALIASES),
)

_PAREN_NOTE = re.compile(r"\(.*\)$")
_SEPARATORS = re.compile(r"[\s_\-]+")
HEADER_SCAN_ROWS = 10  # offices often put a title row or two above the header


def normalize_header(raw: object) -> str:
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw)).strip().strip("*").strip()
    text = _PAREN_NOTE.sub("", text).strip().strip("*")
    return _SEPARATORS.sub("_", text).strip("_").lower()


def _lookup(layout: SheetLayout) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in layout.columns:
        for header in (col.key, col.zh, *col.aliases):
            table.setdefault(normalize_header(header), col.key)
    return table


@functools.cache
def _lookup_of(layout: SheetLayout) -> dict[str, str]:
    return _lookup(layout)


@functools.cache
def _names_of(layouts: tuple[SheetLayout, ...]) -> dict[str, SheetLayout]:
    return {normalize_header(n): layout for layout in layouts for n in layout.names}


@dataclass(frozen=True)
class HeaderMap:
    """Where each known column sits in a sheet, and which header cells were not recognised."""

    layout: SheetLayout
    header_row: int  # 1-based
    positions: dict[str, int]  # column key -> 0-based index in the row
    headers: dict[str, str]  # column key -> header text as written
    ignored: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(k for k in self.layout.required_keys if k not in self.positions)


_cached_header = functools.lru_cache(maxsize=4096)(normalize_header)


def repeats_header(layout: SheetLayout, values: Mapping[str, object]) -> bool:
    """Whether a data row is the sheet's header again (pasted above each block or page): its
    first required column and at least half of its known columns hold their own headers."""
    lookup = _lookup_of(layout)
    first = layout.required_keys[0]
    cell = values.get(first)
    # Cheap refusals first: this runs for every row of every sheet. No header starts with a
    # digit (an ID number does); grid codes repeat down a sheet, so their normal form is cached.
    if not isinstance(cell, str) or len(cell) > 40 or cell[:1].isdigit():
        return False
    if lookup.get(_cached_header(cell)) != first:
        return False
    own = sum(
        1
        for key, v in values.items()
        if isinstance(v, str) and lookup.get(normalize_header(v)) == key
    )
    return own * 2 >= len(values)


def map_header(layout: SheetLayout, cells: Sequence[object], header_row: int) -> HeaderMap:
    """Match one header row against a layout; the first cell wins when two mean the same column."""
    lookup = _lookup_of(layout)
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        norm = normalize_header(cell)
        if not norm:
            continue
        key = lookup.get(norm)
        if key is None or key in positions:
            ignored.append(str(cell).strip())
            continue
        positions[key] = index
        headers[key] = str(cell).strip()
    return HeaderMap(layout, header_row, positions, headers, tuple(ignored))


def layout_for_name(name: str, layouts: tuple[SheetLayout, ...] = LAYOUTS) -> SheetLayout | None:
    """The layout a sheet or file name announces ("人房", "xx_网格.csv", "roster"), if any."""
    norm = normalize_header(name)
    names = _names_of(layouts)
    if norm in names:
        return names[norm]
    # File stems like "海坛片区_人房" or "template-grid": look at the last word.
    tail = re.split(r"[_.]", norm)[-1]
    return names.get(tail)


def find_header(
    rows: Sequence[tuple[int, Sequence[object]]],
    hint: SheetLayout | None,
    layouts: tuple[SheetLayout, ...] = LAYOUTS,
) -> HeaderMap | None:
    """The first of the leading rows that holds every required header of some layout.

    `hint` (from the sheet or file name) is tried first, so a grid sheet is never read as a roster.
    """
    if hint:
        layouts = (hint, *(lay for lay in layouts if lay is not hint))
    for number, cells in rows:
        for layout in layouts:
            mapped = map_header(layout, cells, number)
            if not mapped.missing:
                return mapped
    return None

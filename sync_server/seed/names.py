"""Chinese vocabularies for the demo data: surnames, given names by era, places, region codes.

The place names borrow real Pingtan (平潭) towns for flavour; the roads, villages and communities
built from them are invented. Choice is always driven by the caller's `random.Random`, so the
data stay deterministic; `Weighted` precomputes cumulative weights because `choices` with
`cum_weights` is several times faster than with plain weights over hundreds of thousands of draws.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

from faker.providers.person.zh_CN import Provider as ZhPerson

T = TypeVar("T")


class Weighted(Generic[T]):
    """A population with fixed weights, drawn from quickly with a caller's RNG."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values: list[T] = [value for value, _ in items]
        self.cum: list[float] = list(itertools.accumulate(weight for _, weight in items))

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.values, cum_weights=self.cum)[0]


# Surnames of Pingtan: 林 and 陈 dominate the island, as in most of coastal Fujian.
LOCAL_SURNAMES: Weighted[str] = Weighted(
    [
        ("林", 16), ("陈", 14), ("黄", 6), ("吴", 6), ("高", 5), ("翁", 4), ("何", 4), ("郑", 4),
        ("王", 4), ("李", 3), ("张", 3), ("俞", 3), ("詹", 3), ("魏", 3), ("施", 2.5),
        ("杨", 2.5), ("刘", 2), ("游", 2), ("薛", 1.5), ("曾", 1.5), ("许", 1.5), ("周", 1.5),
        ("蔡", 1.5), ("江", 1), ("欧", 1), ("池", 1), ("卓", 1), ("邱", 1), ("唐", 1), ("兰", 0.5),
    ]
)  # fmt: skip

# Everyone else (floating population, spouses from elsewhere): the national frequencies.
NATIONAL_SURNAMES: Weighted[str] = Weighted(
    [(name, weight) for name, weight in ZhPerson.last_names.items() if weight >= 0.05]
)

# Given names follow fashions; picking by birth decade keeps grandparents named 秀英 and
# grandchildren named 梓涵, which is what a worker reading a roster would expect.
_OLD_MALE = (
    "金水", "木森", "永福", "德明", "国强", "建国", "春生", "家兴", "文华", "明德", "水生",
    "天赐", "福生", "永昌", "顺发", "依官", "长发", "其昌", "玉成", "树林", "炳南", "清泉",
)  # fmt: skip
_OLD_FEMALE = (
    "秀英", "桂英", "玉兰", "秀珍", "美玉", "金花", "淑珍", "桂兰", "玉英", "月娥", "秀兰",
    "凤英", "银花", "素珍", "阿妹", "宝珠", "玉珍", "秀云", "兰英", "梅英", "碧霞",
)  # fmt: skip
_MID_MALE = (
    *(n for n in ZhPerson.first_names_male if n not in {"红霞", "想", "杨", "林"}),
    "志强",
    "建平",
    "海峰",
    "立新",
    "文斌",
    "国华",
    "振华",
    "志明",
    "伟民",
    "晓东",
    "永辉",
)
_MID_FEMALE = (
    *ZhPerson.first_names_female,
    "丽萍",
    "晓燕",
    "海燕",
    "美华",
    "丽娜",
    "雪芳",
    "小燕",
    "艳红",
    "丽琴",
    "秀芳",
)
_YOUNG_MALE = (
    "俊杰", "志豪", "家豪", "浩然", "宇航", "鑫", "凯", "晨阳", "文杰", "天宇", "思远", "伟杰",
    "鹏飞", "嘉伟", "子龙", "振宇", "明轩", "少华", "泽民", "一鸣", "博文", "建宏",
)  # fmt: skip
_YOUNG_FEMALE = (
    "婷婷", "欣怡", "佳琪", "雨婷", "思雨", "梦瑶", "雅琴", "诗琪", "晓彤", "丹妮", "晶晶",
    "慧敏", "佳慧", "倩", "琳", "颖", "雪婷", "美玲", "心怡", "文静", "舒婷", "燕妮",
)  # fmt: skip
_CHILD_MALE = (
    "子轩", "浩宇", "宇轩", "梓豪", "俊熙", "一诺", "睿泽", "沐阳", "奕辰", "宇泽", "浩轩",
    "梓睿", "子墨", "承泽", "铭轩", "煜祺", "思源", "皓轩", "锦程", "嘉懿", "俊宇", "君浩",
)  # fmt: skip
_CHILD_FEMALE = (
    "梓涵", "诗涵", "欣怡", "雨桐", "一诺", "可馨", "梓萱", "语桐", "若汐", "紫涵", "思彤",
    "芷若", "依诺", "雨涵", "佳怡", "梦琪", "沐晴", "语嫣", "子萱", "欣妍", "可欣", "馨月",
)  # fmt: skip
# Two-character names composed from these widen the pool for the middle and young eras.
_MALE_FIRST = "志建国文明伟俊浩宇子家嘉思泽永金天振晓海德立"
_MALE_SECOND = "强华明杰辉斌军峰涛平东林宏伟龙鹏飞波健彬超"
_FEMALE_FIRST = "秀丽美玉晓雪佳思雅欣静海春婉慧小"
_FEMALE_SECOND = "英芳华珍萍燕娟琴霞玲婷梅兰红丹颖"


def given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    """A given name plausible for someone of this sex born in this year."""
    male = sex == "M"
    if birth_year < 1960:
        return rng.choice(_OLD_MALE if male else _OLD_FEMALE)
    if birth_year >= 2010:
        return rng.choice(_CHILD_MALE if male else _CHILD_FEMALE)
    if rng.random() < 0.3:
        first, second = (_MALE_FIRST, _MALE_SECOND) if male else (_FEMALE_FIRST, _FEMALE_SECOND)
        return rng.choice(first) + rng.choice(second)
    if birth_year < 1990:
        return rng.choice(_MID_MALE if male else _MID_FEMALE)
    return rng.choice(_YOUNG_MALE if male else _YOUNG_FEMALE)


# Region codes (GB/T 2260) for ID numbers. Locals are mostly registered in 平潭县 350128.
PINGTAN_REGION = "350128"
FUJIAN_REGIONS: Weighted[str] = Weighted(
    [
        ("350181", 5),  # 福清市, just across the strait bridge
        ("350102", 2), ("350104", 1), ("350111", 1),  # 福州市区
        ("350322", 1), ("350521", 1), ("350582", 1), ("350203", 1),  # 仙游 惠安 晋江 厦门
    ]
)  # fmt: skip
# Where Pingtan's migrant workers come from, roughly: inland provinces first.
MIGRANT_REGIONS: Weighted[str] = Weighted(
    [
        ("360731", 4), ("360124", 2), ("362330", 2),  # 江西 于都 进贤 鄱阳
        ("511321", 3), ("510122", 2), ("513022", 2),  # 四川 南部 双流 宣汉
        ("522401", 3), ("522121", 2),  # 贵州 毕节 遵义
        ("430521", 2), ("431121", 2),  # 湖南 邵东 祁阳
        ("412726", 2), ("411521", 2),  # 河南 郸城 罗山
        ("341221", 2), ("342221", 1),  # 安徽 临泉 砀山
        ("420822", 1), ("450481", 1), ("532128", 1), ("622421", 1),  # 湖北 广西 云南 甘肃
        ("350181", 3), ("350322", 2), ("350725", 1),  # 福建省内 福清 仙游 政和
    ]
)  # fmt: skip

# Where residents who are away (外出) work or study; shown in their note.
AWAY_CITIES = ("福州", "厦门", "泉州", "上海", "深圳", "广州", "杭州", "宁波", "北京", "苏州")

MOBILE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "173", "175", "176", "177", "178",
    *(f"18{d}" for d in range(10)),
    "191", "198", "199",
)  # fmt: skip

# Level-3 grids (三级网格) of the demo district: real towns of the island, invented layout.
LEVEL3_NAMES = ("潭城镇", "北厝镇", "中楼乡", "平原镇")

_COMMUNITY_STEMS = (
    "城中", "城北", "城南", "城东", "西航", "东航", "金井", "海滨", "龙山", "翠园", "万宝",
    "中山", "和平", "东门", "西门", "南门", "北门", "麒麟", "文化", "坛南", "潭东", "福平",
    "鹏程", "锦绣", "岚华", "政通", "德政", "青峰", "竹屿", "实验", "兴港", "环岛",
)  # fmt: skip
_VILLAGE_FIRST = "东西南北上下大小后前新中石"
_VILLAGE_SECOND = "澳坑厝楼山岐屿埔垄湾港洋亭岭寮沙"


def community_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct urban community names (社区)."""
    if count > len(_COMMUNITY_STEMS):
        raise ValueError(f"only {len(_COMMUNITY_STEMS)} community names, asked for {count}")
    return [stem + "社区" for stem in rng.sample(_COMMUNITY_STEMS, count)]


def village_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct village names (村), e.g. 北坑村, 大澳村."""
    stems = [a + b for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND]
    return [stem + "村" for stem in rng.sample(stems, count)]


_ROAD_STEMS = (
    "中山", "西航", "龙凤", "金井", "环岛", "城关", "翠园", "万宝", "麒麟", "和平", "民主",
    "胜利", "海滨", "实验", "文化", "建设", "人民", "解放", "兴港", "坛南", "潭东", "福平",
    "鹏程", "锦绣", "青峰", "竹屿", "岚华", "政通", "德政", "北环", "南环", "东岚", "西楼",
    "中原", "宝湖", "北门", "东门", "南门", "幸福", "迎宾", "滨海", "观澜", "凤凰",
)  # fmt: skip
_ROAD_SUFFIXES = ("路", "路", "街", "大道", "北路", "南路")


def road_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct urban road names, e.g. 西航路, 中山北路."""
    names = sorted({stem + suffix for stem in _ROAD_STEMS for suffix in _ROAD_SUFFIXES})
    return rng.sample(["西大街", "东大街", "北大街", *names], count)


_LANE_FIRST = (
    "顶",
    "下",
    "后",
    "前",
    "东",
    "西",
    "中",
    "新",
    "井边",
    "榕树",
    "祠堂",
    "海边",
    "山脚",
)
_LANE_SECOND = ("厝巷", "埕巷", "垄巷", "街巷", "巷")


def lane_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct village lane names, e.g. 后垄巷, 榕树巷."""
    names = sorted({a + b for a in _LANE_FIRST for b in _LANE_SECOND})
    if count <= len(names):
        return rng.sample(names, count)
    # A big village runs out of names; numbered lanes (一巷, 二巷...) are common too.
    extra = [f"{i}巷" for i in range(1, count - len(names) + 1)]
    return rng.sample(names, len(names)) + extra

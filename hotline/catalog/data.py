"""The category tree (热点问题分类), routing hints and the seed's hot problems, as plain data.

Pure data: no Django imports, so the demo generator, triage and tests can read it without a
database; a loader turns it into rows. Codes are stable identifiers: two digits for a top-level
category, four for a leaf whose first two digits are its parent's code. Names are what the
briefing prints (政务服务—网点服务), so the seed's ten hotspot pairs appear here verbatim.

Routing hints name the units that usually handle a leaf, most likely lead unit first. ``TOWN``
stands for the town/street government (乡镇街道) where the appeal is located: the caller of
the hint resolves it from the order's address.
"""

TOWN = "TOWN"

# City departments and public companies of Ruzhou that appear in the seed's 市直单位 annex and
# in the routing below. 车管所 is a sub-unit of 公安局 that receives orders of its own.
UNIT_NAMES: tuple[str, ...] = (
    "住房和城乡建设局",
    "教育体育局（教育）",
    "国网汝州市供电公司",
    "生态环境局",
    "税务局",
    "商务局",
    "医疗保障局",
    "煤矿安全监察局",
    "文广旅游局",
    "融媒体中心",
    "自来水公司",
    "人力资源和社会保障局",
    "公安局",
    "移动公司",
    "农业农村局",
    "教育体育局（体育）",
    "公路管理局",
    "联通公司",
    "城市管理局",
    "国资事务中心",
    "市场监督管理局",
    "自然资源和规划局",
    "卫生健康委员会",
    "交通运输局",
    "车管所",
)

# Parent of a sub-unit, for callers that file 车管所 under 公安局 in the directory.
SUB_UNIT_PARENTS: dict[str, str] = {"车管所": "公安局"}

# Towns (镇), townships (乡) and streets (街道) of Ruzhou, in the seed annex's spelling.
TOWNS: tuple[str, ...] = (
    "煤山街道",
    "风穴路街道",
    "钟楼街道",
    "洗耳河街道",
    "汝南街道",
    "紫云路街道",
    "寄料镇",
    "温泉镇",
    "临汝镇",
    "小屯镇",
    "杨楼镇",
    "蟒川镇",
    "庙下镇",
    "米庙镇",
    "陵头镇",
    "纸坊镇",
    "大峪镇",
    "夏店镇",
    "焦村镇",
    "王寨乡",
    "骑岭乡",
)

CategoryTree = list[tuple[str, str, list[tuple[str, str]]]]

CATEGORY_TREE: CategoryTree = [
    (
        "01",
        "政务服务",
        [
            ("0101", "网点服务"),
            ("0102", "行政效能"),
            ("0103", "证照办理"),
            ("0104", "政务公开"),
            ("0105", "热线服务"),
            ("0106", "税费办理"),
        ],
    ),
    (
        "02",
        "民主法制",
        [
            ("0201", "政策咨询"),
            ("0202", "矛盾纠纷"),
            ("0203", "法律咨询"),
            ("0204", "基层选举"),
            ("0205", "信访事项"),
        ],
    ),
    (
        "03",
        "公共服务",
        [
            ("0301", "水电气暖"),
            ("0302", "供水"),
            ("0303", "供电"),
            ("0304", "燃气"),
            ("0305", "供暖"),
            ("0306", "广播电视"),
        ],
    ),
    (
        "04",
        "农村管理",
        [
            ("0401", "人居环境"),
            ("0402", "土地承包"),
            ("0403", "农业补贴"),
            ("0404", "村务公开"),
            ("0405", "农村道路"),
            ("0406", "农村饮水"),
            ("0407", "宅基地"),
            ("0408", "畜牧防疫"),
            ("0409", "农资质量"),
        ],
    ),
    (
        "05",
        "文体科教",
        [
            ("0501", "教育管理"),
            ("0502", "招生入学"),
            ("0503", "校外培训"),
            ("0504", "教师待遇"),
            ("0505", "学生资助"),
            ("0506", "校园安全"),
            ("0507", "学校收费"),
            ("0508", "体育设施"),
        ],
    ),
    (
        "06",
        "工资薪金",
        [
            ("0601", "拖欠工资"),
            ("0602", "工程款拖欠"),
            ("0603", "劳动合同"),
            ("0604", "加班休假"),
        ],
    ),
    (
        "07",
        "社会保险",
        [
            ("0701", "养老保险"),
            ("0702", "医疗保险"),
            ("0703", "失业保险"),
            ("0704", "工伤保险"),
            ("0705", "社保卡"),
            ("0706", "居民医保缴费"),
            ("0707", "生育保险"),
        ],
    ),
    (
        "08",
        "市场管理",
        [
            ("0801", "消费纠纷"),
            ("0802", "食品安全"),
            ("0803", "价格"),
            ("0804", "市场秩序"),
            ("0805", "药品安全"),
            ("0806", "特种设备"),
            ("0807", "预付卡"),
            ("0808", "二手车交易"),
        ],
    ),
    (
        "09",
        "市政管理",
        [
            ("0901", "市容市貌"),
            ("0902", "违章建筑"),
            ("0903", "占道经营"),
            ("0904", "市政设施"),
            ("0905", "排水防汛"),
            ("0906", "路灯照明"),
            ("0907", "园林绿化"),
            ("0908", "环卫保洁"),
            ("0909", "户外广告"),
            ("0910", "停车管理"),
        ],
    ),
    (
        "10",
        "城乡建设",
        [
            ("1001", "物业管理"),
            ("1002", "房屋质量"),
            ("1003", "不动产登记"),
            ("1004", "住房保障"),
            ("1005", "建筑施工"),
            ("1006", "老旧小区改造"),
            ("1007", "商品房交付"),
            ("1008", "住房公积金"),
            ("1009", "城市道路"),
        ],
    ),
    (
        "11",
        "交通运输",
        [
            ("1101", "道路交通"),
            ("1102", "公交出租"),
            ("1103", "车驾管业务"),
            ("1104", "驾驶员考试"),
            ("1105", "公路养护"),
            ("1106", "交通安全设施"),
            ("1107", "货运治超"),
            ("1108", "网约车"),
        ],
    ),
    (
        "12",
        "生态环境",
        [
            ("1201", "噪声污染"),
            ("1202", "大气污染"),
            ("1203", "水污染"),
            ("1204", "固体废物"),
            ("1205", "餐饮油烟"),
            ("1206", "养殖污染"),
            ("1207", "辐射电磁"),
        ],
    ),
    (
        "13",
        "公安治安",
        [
            ("1301", "社会治安"),
            ("1302", "户籍管理"),
            ("1303", "居住证"),
            ("1304", "身份证办理"),
            ("1305", "电信诈骗"),
            ("1306", "出入境"),
            ("1307", "交通违法处理"),
        ],
    ),
    (
        "14",
        "通信服务",
        [
            ("1401", "通信线缆"),
            ("1402", "网络信号"),
            ("1403", "资费争议"),
            ("1404", "宽带装维"),
            ("1405", "业务办理"),
        ],
    ),
    (
        "15",
        "民政服务",
        [
            ("1501", "低保救助"),
            ("1502", "养老服务"),
            ("1503", "殡葬管理"),
            ("1504", "残疾人帮扶"),
            ("1505", "高龄津贴"),
            ("1506", "婚姻登记"),
            ("1507", "特困供养"),
        ],
    ),
    (
        "16",
        "自然资源",
        [
            ("1601", "土地管理"),
            ("1602", "规划管理"),
            ("1603", "矿产资源"),
            ("1604", "林业管理"),
            ("1605", "征地拆迁"),
        ],
    ),
    (
        "17",
        "卫生健康",
        [
            ("1701", "医疗服务"),
            ("1702", "医疗纠纷"),
            ("1703", "疫苗接种"),
            ("1704", "生育政策"),
            ("1705", "医德医风"),
            ("1706", "公共卫生"),
        ],
    ),
    (
        "18",
        "文化旅游",
        [
            ("1801", "旅游投诉"),
            ("1802", "文化市场"),
            ("1803", "文物保护"),
            ("1804", "文体活动"),
        ],
    ),
    (
        "19",
        "安全生产",
        [
            ("1901", "煤矿安全"),
            ("1902", "企业安全"),
            ("1903", "消防安全"),
            ("1904", "燃气安全"),
            ("1905", "危险化学品"),
        ],
    ),
    (
        "20",
        "咨询建议",
        [
            ("2001", "城市建设建议"),
            ("2002", "政府工作建议"),
            ("2003", "表扬感谢"),
            ("2004", "其他咨询"),
        ],
    ),
]

# The seed briefing's top-ten hotspot table, in its order (July 2023).
SEED_HOTSPOTS: list[tuple[str, str]] = [
    ("政务服务", "网点服务"),
    ("民主法制", "政策咨询"),
    ("公共服务", "水电气暖"),
    ("农村管理", "人居环境"),
    ("文体科教", "教育管理"),
    ("工资薪金", "拖欠工资"),
    ("政务服务", "行政效能"),
    ("社会保险", "医疗保险"),
    ("市场管理", "消费纠纷"),
    ("市政管理", "市容市貌"),
]

_HOUSING = "住房和城乡建设局"
_EDU = "教育体育局（教育）"
_HRSS = "人力资源和社会保障局"
_MARKET = "市场监督管理局"
_CITY = "城市管理局"
_LAND = "自然资源和规划局"
_HEALTH = "卫生健康委员会"
_AGRI = "农业农村局"

LEAF_ROUTING: dict[str, list[str]] = {
    # 政务服务
    "0101": [TOWN, _LAND, _HRSS, "公安局"],
    "0102": [TOWN, _HRSS, _LAND, _HOUSING],
    "0103": ["公安局", _MARKET, TOWN],
    "0104": [TOWN, "融媒体中心"],
    "0105": [TOWN],
    "0106": ["税务局"],
    # 民主法制
    "0201": [TOWN, _HRSS, "医疗保障局"],
    "0202": [TOWN, "公安局"],
    "0203": [TOWN],
    "0204": [TOWN],
    "0205": [TOWN],
    # 公共服务
    "0301": ["自来水公司", "国网汝州市供电公司", _HOUSING, TOWN],
    "0302": ["自来水公司", TOWN],
    "0303": ["国网汝州市供电公司", TOWN],
    "0304": [_HOUSING, "国资事务中心"],
    "0305": [_HOUSING, "国资事务中心"],
    "0306": ["融媒体中心", "移动公司", "联通公司"],
    # 农村管理
    "0401": [TOWN, _AGRI, "生态环境局"],
    "0402": [TOWN, _AGRI],
    "0403": [_AGRI, TOWN],
    "0404": [TOWN],
    "0405": [TOWN, "交通运输局", "公路管理局"],
    "0406": [TOWN, "自来水公司"],
    "0407": [TOWN, _LAND],
    "0408": [_AGRI, TOWN],
    "0409": [_AGRI, _MARKET],
    # 文体科教
    "0501": [_EDU],
    "0502": [_EDU],
    "0503": [_EDU, _MARKET],
    "0504": [_EDU, _HRSS],
    "0505": [_EDU],
    "0506": [_EDU, "公安局"],
    "0507": [_EDU, _MARKET],
    "0508": ["教育体育局（体育）", TOWN],
    # 工资薪金
    "0601": [_HRSS, TOWN],
    "0602": [_HOUSING, _HRSS, TOWN],
    "0603": [_HRSS],
    "0604": [_HRSS],
    # 社会保险
    "0701": [_HRSS, "税务局"],
    "0702": ["医疗保障局", "税务局"],
    "0703": [_HRSS],
    "0704": [_HRSS],
    "0705": [_HRSS],
    "0706": ["医疗保障局", "税务局", TOWN],
    "0707": ["医疗保障局"],
    # 市场管理
    "0801": [_MARKET, "商务局"],
    "0802": [_MARKET],
    "0803": [_MARKET],
    "0804": [_MARKET, "商务局", TOWN],
    "0805": [_MARKET, _HEALTH],
    "0806": [_MARKET],
    "0807": ["商务局", _MARKET],
    "0808": ["商务局", _MARKET, "车管所"],
    # 市政管理
    "0901": [_CITY, TOWN],
    "0902": [_CITY, _LAND, TOWN],
    "0903": [_CITY, TOWN],
    "0904": [_CITY, _HOUSING, "国资事务中心"],
    "0905": [_CITY, _HOUSING, "国资事务中心"],
    "0906": [_CITY],
    "0907": [_CITY],
    "0908": [_CITY, TOWN],
    "0909": [_CITY],
    "0910": [_CITY, "公安局"],
    # 城乡建设
    "1001": [_HOUSING, TOWN],
    "1002": [_HOUSING],
    "1003": [_LAND, "税务局"],
    "1004": [_HOUSING],
    "1005": [_HOUSING, _CITY],
    "1006": [_HOUSING, TOWN],
    "1007": [_HOUSING, _LAND],
    "1008": [_HOUSING],
    "1009": [_HOUSING, "国资事务中心", _CITY],
    # 交通运输
    "1101": ["公安局", "交通运输局"],
    "1102": ["交通运输局"],
    "1103": ["车管所"],
    "1104": ["车管所"],
    "1105": ["公路管理局", "交通运输局"],
    "1106": ["公路管理局", "公安局", "交通运输局"],
    "1107": ["交通运输局", "公路管理局"],
    "1108": ["交通运输局"],
    # 生态环境
    "1201": ["生态环境局", "公安局", _CITY],
    "1202": ["生态环境局"],
    "1203": ["生态环境局"],
    "1204": ["生态环境局", TOWN],
    "1205": [_CITY, "生态环境局"],
    "1206": ["生态环境局", _AGRI, TOWN],
    "1207": ["生态环境局", "移动公司", "联通公司"],
    # 公安治安
    "1301": ["公安局"],
    "1302": ["公安局"],
    "1303": ["公安局"],
    "1304": ["公安局"],
    "1305": ["公安局"],
    "1306": ["公安局"],
    "1307": ["公安局"],
    # 通信服务
    "1401": ["移动公司", "联通公司"],
    "1402": ["移动公司", "联通公司"],
    "1403": ["移动公司", "联通公司"],
    "1404": ["联通公司", "移动公司"],
    "1405": ["移动公司", "联通公司"],
    # 民政服务: the city's civil-affairs bureau is not in the unit list; towns take the
    # application and verification work (入户核查) that these orders are about.
    "1501": [TOWN],
    "1502": [TOWN, _HEALTH],
    "1503": [TOWN],
    "1504": [TOWN],
    "1505": [TOWN],
    "1506": [TOWN],
    "1507": [TOWN],
    # 自然资源
    "1601": [_LAND, TOWN],
    "1602": [_LAND],
    "1603": [_LAND, "煤矿安全监察局"],
    "1604": [_LAND, TOWN],
    "1605": [TOWN, _LAND],
    # 卫生健康
    "1701": [_HEALTH],
    "1702": [_HEALTH],
    "1703": [_HEALTH],
    "1704": [_HEALTH],
    "1705": [_HEALTH],
    "1706": [_HEALTH, TOWN],
    # 文化旅游
    "1801": ["文广旅游局"],
    "1802": ["文广旅游局"],
    "1803": ["文广旅游局"],
    "1804": ["文广旅游局", "教育体育局（体育）"],
    # 安全生产
    "1901": ["煤矿安全监察局"],
    "1902": [TOWN],
    "1903": [TOWN, _HOUSING],
    "1904": [_HOUSING, TOWN],
    "1905": [TOWN, "公安局"],
    # 咨询建议
    "2001": [_HOUSING, _CITY],
    "2002": [TOWN],
    "2003": [TOWN],
    "2004": [TOWN],
}

# Town-specific entries of the dispatch catalog: in these streets the roads and drains were built
# by the state-assets center's companies (the seed's 宏翔大道 meeting), which still maintains them,
# so their orders go there rather than to the city's bureaus. A town-specific rule wins over the
# leaf's general rule (``hotline.workorders.queries.suggest_units``).
TOWN_ROUTING: dict[tuple[str, str], str] = {
    ("0904", "洗耳河街道"): "国资事务中心",
    ("1009", "洗耳河街道"): "国资事务中心",
    ("0904", "汝南街道"): "国资事务中心",
    ("1009", "汝南街道"): "国资事务中心",
}


def catalog_lead(leaf_code: str, town: str) -> str:
    """The lead unit the default dispatch catalog names for a leaf at a town (a short name).

    The same rule as the catalog's rows (``hotline.demo.defaults`` loads them): a town-specific
    entry first, then the leaf's first routing hint, ``TOWN`` meaning the order's own town.
    """
    unit = TOWN_ROUTING.get((leaf_code, town)) or (LEAF_ROUTING.get(leaf_code) or [TOWN])[0]
    return town if unit == TOWN else unit


HOT_PROBLEM_THEMES: dict[str, dict] = {
    "driver_exam": {
        "key": "driver_exam",
        "title": "驾驶员考试问题",
        "leaf_code": "1104",
        "units": ["车管所"],
        "keywords": ["科目二", "科目三", "考试", "预约"],
    },
    "medical_reimbursement": {
        "key": "medical_reimbursement",
        "title": "医保报销问题",
        "leaf_code": "0702",
        "units": ["医疗保障局"],
        "keywords": ["医保", "报销", "住院", "缴费"],
    },
    "flood_safety": {
        "key": "flood_safety",
        "title": "汛期安全问题",
        "leaf_code": "0905",
        "units": ["城市管理局", "住房和城乡建设局"],
        "keywords": ["积水", "窨井盖", "树木倾倒", "路面下沉", "汛期", "降雨"],
    },
    "telecom_cables": {
        "key": "telecom_cables",
        "title": "通信线缆问题",
        "leaf_code": "1401",
        "units": ["移动公司", "联通公司"],
        "keywords": ["线杆", "线缆", "倾倒", "垂落"],
    },
    "property_management": {
        "key": "property_management",
        "title": "物业管理问题",
        "leaf_code": "1001",
        "units": ["住房和城乡建设局"],
        "keywords": ["物业", "业主", "小区"],
    },
}


def iter_leaves() -> list[tuple[str, str, str, str]]:
    """Every leaf as (level1_code, level1_name, leaf_code, leaf_name), in tree order."""
    return [
        (code, name, leaf_code, leaf_name)
        for code, name, leaves in CATEGORY_TREE
        for leaf_code, leaf_name in leaves
    ]


LEAF_CODES: tuple[str, ...] = tuple(leaf[2] for leaf in iter_leaves())

# leaf code → "政务服务—网点服务", the label the briefing prints.
LEAF_LABELS: dict[str, str] = {
    leaf_code: f"{name}—{leaf_name}" for _code, name, leaf_code, leaf_name in iter_leaves()
}


def leaf_code_for(level1_name: str, level2_name: str) -> str:
    """The leaf code of a (level1, level2) name pair; KeyError when the tree lacks it."""
    for _code, name, leaf_code, leaf_name in iter_leaves():
        if name == level1_name and leaf_name == level2_name:
            return leaf_code
    raise KeyError(f"{level1_name}—{level2_name}")

"""Chinese vocabulary for generated data: cities, given names with pinyin, company words, business phrases."""

from __future__ import annotations

# Pinyin of the most common surnames (Faker zh_CN gives their frequency weights).
SURNAME_PINYIN = dict(zip(
    "王李张刘陈杨黄吴赵周徐孙马朱胡林郭何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟"
    "姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖覃洪武莫孔",
    "wang li zhang liu chen yang huang wu zhao zhou xu sun ma zhu hu lin guo he gao luo zheng liang xie song tang xu "
    "deng feng han cao zeng peng xiao cai pan tian dong yuan yu yu ye jiang du su wei cheng lv ding shen ren yao lu fu "
    "zhong jiang cui tan liao fan wang lu jin shi dai jia wei xia qiu fang hou zou xiong meng qin bai jiang yan xue yin "
    "duan lei li shi long tao he gu mao hao gong shao wan qian yan lai qin hong wu mo kong".split(), strict=True))

# Given names common among people of working age today, with pinyin for e-mail addresses.
GIVEN_NAMES = [tuple(pair.split(":")) for pair in (
    "伟:wei 磊:lei 勇:yong 杰:jie 涛:tao 超:chao 明:ming 鹏:peng 斌:bin 宇:yu 浩:hao 凯:kai 俊:jun 帆:fan 旭:xu "
    "宁:ning 琳:lin 静:jing 敏:min 丽:li 婷:ting 颖:ying 倩:qian 雪:xue 洁:jie 莹:ying 璐:lu 欣:xin 芳:fang 娜:na "
    "蕾:lei 晨:chen 辉:hui 峰:feng 健:jian 亮:liang 悦:yue 瑶:yao 建华:jianhua 志强:zhiqiang 海涛:haitao "
    "晓东:xiaodong 文博:wenbo 子豪:zihao 家明:jiaming 俊杰:junjie 浩然:haoran 宇航:yuhang 天宇:tianyu "
    "明轩:mingxuan 立新:lixin 国强:guoqiang 永刚:yonggang 振华:zhenhua 晓峰:xiaofeng 伟东:weidong 一鸣:yiming "
    "思远:siyuan 嘉豪:jiahao 承泽:chengze 雨萱:yuxuan 思琪:siqi 欣怡:xinyi 梓涵:zihan 诗涵:shihan 佳怡:jiayi "
    "晓燕:xiaoyan 丽娟:lijuan 海燕:haiyan 雅婷:yating 静怡:jingyi 婉清:wanqing 晓雯:xiaowen 慧敏:huimin "
    "春梅:chunmei 玉洁:yujie 美玲:meiling 紫薇:ziwei 梦瑶:mengyao 晓丽:xiaoli 文静:wenjing 佳琪:jiaqi "
    "志伟:zhiwei 建军:jianjun 红霞:hongxia 秀英:xiuying 建平:jianping 海峰:haifeng 德明:deming 永红:yonghong"
).split()]

# (province, city, short name, pinyin initials, area code, districts, roads)
CITIES = [
    ("浙江省", "杭州市", "杭州", "hz", "0571", ["西湖区", "上城区", "拱墅区", "滨江区", "余杭区", "萧山区"],
     ["文三路", "天目山路", "解放路", "延安路", "莫干山路", "江南大道", "文一西路", "钱江路", "凤起路", "湖墅南路"]),
    ("浙江省", "宁波市", "宁波", "nb", "0574", ["海曙区", "鄞州区", "江北区", "北仑区"],
     ["中山西路", "天童南路", "江东北路", "院士路", "解放南路"]),
    ("浙江省", "温州市", "温州", "wz", "0577", ["鹿城区", "瓯海区", "龙湾区"], ["车站大道", "人民路", "温州大道", "学院路"]),
    ("浙江省", "绍兴市", "绍兴", "sx", "0575", ["越城区", "柯桥区", "上虞区"], ["解放北路", "中兴中路", "笛扬路"]),
    ("上海市", "上海市", "上海", "sh", "021", ["浦东新区", "徐汇区", "静安区", "闵行区", "长宁区", "杨浦区"],
     ["世纪大道", "淮海中路", "南京西路", "漕溪北路", "虹桥路", "张江路", "延安西路"]),
    ("江苏省", "苏州市", "苏州", "sz", "0512", ["姑苏区", "工业园区", "吴中区", "相城区"],
     ["干将路", "星湖街", "人民路", "苏州大道东", "东环路"]),
    ("江苏省", "南京市", "南京", "nj", "025", ["鼓楼区", "玄武区", "秦淮区", "建邺区", "江宁区"],
     ["中山路", "北京西路", "汉中路", "江东中路", "龙蟠路"]),
    ("江苏省", "无锡市", "无锡", "wx", "0510", ["梁溪区", "滨湖区", "新吴区"], ["中山路", "太湖大道", "长江路"]),
    ("北京市", "北京市", "北京", "bj", "010", ["朝阳区", "海淀区", "东城区", "西城区", "丰台区"],
     ["建国路", "中关村大街", "朝阳北路", "西直门外大街", "东三环中路", "学院路"]),
    ("广东省", "广州市", "广州", "gz", "020", ["天河区", "越秀区", "海珠区", "番禺区"],
     ["天河路", "环市东路", "中山大道", "珠江东路", "东风中路"]),
    ("广东省", "深圳市", "深圳", "sz", "0755", ["南山区", "福田区", "宝安区", "龙岗区"],
     ["深南大道", "科技园南路", "福华路", "宝安大道", "华强北路"]),
    ("四川省", "成都市", "成都", "cd", "028", ["锦江区", "武侯区", "青羊区", "成华区"],
     ["天府大道", "人民南路", "红星路", "蜀都大道"]),
    ("湖北省", "武汉市", "武汉", "wh", "027", ["江汉区", "武昌区", "洪山区", "江岸区"],
     ["解放大道", "中南路", "珞喻路", "建设大道"]),
    ("山东省", "青岛市", "青岛", "qd", "0532", ["市南区", "崂山区", "黄岛区"], ["香港中路", "山东路", "海尔路"]),
    ("福建省", "厦门市", "厦门", "xm", "0592", ["思明区", "湖里区", "集美区"], ["湖滨南路", "嘉禾路", "厦禾路"]),
    ("安徽省", "合肥市", "合肥", "hf", "0551", ["蜀山区", "包河区", "庐阳区"], ["长江西路", "徽州大道", "金寨路"]),
]

BUILDINGS = ["国际大厦", "商务中心", "科技园", "财富广场", "金融中心", "创业大厦", "时代广场", "产业园"]

# Trade names (字号) with pinyin for web domains.
BRANDS = [tuple(pair.split(":")) for pair in (
    "恒远:hengyuan 华信:huaxin 鼎盛:dingsheng 瑞丰:ruifeng 金源:jinyuan 宏达:hongda 新世纪:xinshiji 天成:tiancheng "
    "博雅:boya 中联:zhonglian 永安:yongan 东方:dongfang 汇通:huitong 嘉禾:jiahe 明德:mingde 宝丰:baofeng "
    "盛世:shengshi 锦程:jincheng 海纳:haina 润泽:runze 卓越:zhuoyue 正泰:zhengtai 安信:anxin 同创:tongchuang "
    "广源:guangyuan 兴业:xingye 泰和:taihe 远航:yuanhang 华瑞:huarui 星辰:xingchen 鑫达:xinda 久盛:jiusheng "
    "凯瑞:kairui 亿佳:yijia 众合:zhonghe 联创:lianchuang 德润:derun 和信:hexin 长青:changqing 绿源:lvyuan "
    "蓝海:lanhai 金桥:jinqiao 云帆:yunfan 弘毅:hongyi 百川:baichuan 致远:zhiyuan 荣丰:rongfeng 新锐:xinrui "
    "万丰:wanfeng 九州:jiuzhou 祥和:xianghe 西子:xizi 钱塘:qiantang 之江:zhijiang 运河:yunhe 南湖:nanhu"
).split()]

# Default kinds of customer when a scenario names none: (industry code, words).
SEGMENTS = [
    ("manufacturing", ["机械制造", "精密机械", "电子科技", "实业"]),
    ("retail", ["商贸", "百货", "超市"]),
    ("it", ["信息技术", "软件", "网络科技"]),
    ("food", ["食品", "餐饮管理"]),
    ("logistics", ["物流", "供应链管理"]),
    ("healthcare", ["医疗器械", "健康管理"]),
]

# Endings that already make a company name; other words get 有限公司.
NAME_ENDINGS = ("公司", "集团", "店", "馆", "楼", "厂", "院", "所", "中心", "超市", "宾馆", "酒店", "商行")
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司"]
FREE_MAIL = ["163.com", "126.com", "qq.com", "sina.com", "foxmail.com"]

# (department, title); the first ones are the senior people (decision makers).
CONTACT_ROLES = [
    ("总经办", "总经理"), ("总经办", "副总经理"), ("采购部", "采购总监"), ("采购部", "采购经理"), ("采购部", "采购专员"),
    ("行政部", "行政经理"), ("行政部", "行政专员"), ("财务部", "财务经理"), ("运营部", "运营总监"),
    ("市场部", "市场经理"), ("采购部", "采购主管"),
]
SENIOR = 3

LEAD_NOTES = {
    "web": ["通过官网在线表单咨询{product}的价格和起订量。", "在官网下载了{category}产品手册，留下了联系方式。"],
    "phone": ["来电咨询{product}，希望尽快拿到报价。", "电话询问{category}的供货周期和售后服务。"],
    "referral": ["由老客户{ref}介绍，对{category}有采购意向。", "合作伙伴推荐，计划今年采购{product}。"],
    "trade_show": ["在展会上交换名片，对{product}很感兴趣。", "展会现场试用了{product}，希望安排上门演示。"],
    "campaign": ["参加了我们的线上推介会，想进一步了解{category}。", "通过市场活动报名，咨询{product}。"],
    "partner": ["经销商转来的询价，需求是{product}。"],
    "advertisement": ["看到行业媒体上的广告，来询问{category}。"],
    "other": ["需要进一步核实需求。"],
}
OPPORTUNITY_NAMES = ["{account}-{product}采购", "{account}年度{category}供货", "{account}-{category}项目",
                     "{account}-{product}订单", "{account}第{n}期{category}采购"]
NEXT_STEPS = ["发送正式报价单", "安排产品演示", "确认技术参数", "约见采购负责人", "提交合同初稿", "跟进付款条件",
              "邀请客户参观展厅", "寄送样品"]
COMPETITOR_NOTES = ["对方报价低约{n}%", "客户之前用过对方的产品", "对方在当地有服务网点", "对方承诺更短的交货期",
                    "对方给出了更长的账期"]
ACTIVITY_SUBJECTS = {
    "call": ["电话回访{contact}", "电话确认{account}的需求", "与{contact}沟通报价"],
    "meeting": ["{account}需求沟通会", "与{contact}讨论合同条款", "{opportunity}方案评审"],
    "visit": ["拜访{account}", "上门拜访{contact}", "到{account}现场调研"],
    "demo": ["为{account}演示{product}", "{product}产品演示"],
    "task": ["给{contact}发送报价单", "整理{account}的采购需求", "准备{opportunity}的投标文件",
             "把{product}的资料发给{contact}", "更新{account}的联系人信息", "跟进{opportunity}的回款"],
}
MEETING_PLACES = ["公司会议室", "腾讯会议", "客户会议室", "钉钉视频会议"]
ACCOUNT_NOTES = ["长期合作客户，付款及时。", "对价格敏感，需要强调性价比。", "重视售后服务和交货期。",
                 "今年有扩产计划，采购需求增加。", "决策流程较长，需要多方评估。"]
GENERATED_COMPETITOR_WORDS = ["实业", "贸易", "科技", "供应链"]

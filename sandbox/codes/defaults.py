"""Default picklist values: sensible CRM lists in both languages (code, Chinese, English, extra)."""

from __future__ import annotations

from typing import Any

# table -> [(code, label_zh, label_en, extra)]
DEFAULTS: dict[str, list[tuple[str, str, str, dict[str, Any] | None]]] = {
    "lead_status": [
        ("new", "新线索", "New", None),
        ("contacted", "已联系", "Contacted", None),
        ("qualified", "已确认", "Qualified", None),
        ("unqualified", "无效", "Unqualified", None),
        ("converted", "已升级", "Converted", {"system": True}),
    ],
    "lead_source": [
        ("web", "网站", "Website", None),
        ("phone", "电话咨询", "Phone inquiry", None),
        ("referral", "客户推荐", "Referral", None),
        ("trade_show", "展会", "Trade show", None),
        ("campaign", "市场活动", "Campaign", None),
        ("partner", "合作伙伴", "Partner", None),
        ("advertisement", "广告", "Advertisement", None),
        ("other", "其他", "Other", None),
    ],
    "industry": [
        ("manufacturing", "制造业", "Manufacturing", None),
        ("retail", "零售", "Retail", None),
        ("it", "信息技术", "Information technology", None),
        ("finance", "金融", "Finance", None),
        ("education", "教育", "Education", None),
        ("healthcare", "医疗健康", "Healthcare", None),
        ("logistics", "物流", "Logistics", None),
        ("food", "食品饮料", "Food and beverage", None),
        ("energy", "能源", "Energy", None),
        ("government", "政府与公共事业", "Government", None),
        ("other", "其他", "Other", None),
    ],
    "rating": [
        ("hot", "热", "Hot", None),
        ("warm", "温", "Warm", None),
        ("cold", "冷", "Cold", None),
    ],
    "account_type": [
        ("customer", "客户", "Customer", None),
        ("partner", "合作伙伴", "Partner", None),
        ("reseller", "经销商", "Reseller", None),
        ("prospect", "潜在客户", "Prospect", None),
        ("other", "其他", "Other", None),
    ],
    "account_level": [
        ("gold", "金牌", "Gold", None),
        ("silver", "银牌", "Silver", None),
        ("normal", "普通", "Normal", None),
    ],
    "ownership": [
        ("state", "国有企业", "State-owned", None),
        ("private", "民营企业", "Private", None),
        ("foreign", "外资企业", "Foreign-owned", None),
        ("joint", "合资企业", "Joint venture", None),
        ("public", "上市公司", "Listed company", None),
        ("other", "其他", "Other", None),
    ],
    "opportunity_stage": [
        ("prospecting", "初步接洽", "Prospecting", {"probability": 10}),
        ("qualification", "需求确认", "Qualification", {"probability": 20}),
        ("needs_analysis", "需求分析", "Needs analysis", {"probability": 30}),
        ("value_proposition", "价值建议", "Value proposition", {"probability": 50}),
        ("proposal", "方案报价", "Proposal", {"probability": 65}),
        ("negotiation", "谈判审核", "Negotiation", {"probability": 80}),
        ("closed_won", "赢单", "Closed won", {"probability": 100, "closed": True, "won": True}),
        ("closed_lost", "丢单", "Closed lost", {"probability": 0, "closed": True}),
    ],
    "opportunity_type": [
        ("new_business", "新业务", "New business", None),
        ("existing_business", "老客户业务", "Existing business", None),
    ],
    "contact_method": [
        ("phone", "电话", "Phone", None),
        ("mobile", "手机", "Mobile", None),
        ("email", "电子邮件", "Email", None),
        ("wechat", "微信", "WeChat", None),
        ("visit", "拜访", "Visit", None),
    ],
    "forecast_category": [
        ("pipeline", "渠道", "Pipeline", None),
        ("best_case", "最佳", "Best case", None),
        ("commit", "承诺", "Commit", None),
        ("omitted", "不计入", "Omitted", None),
    ],
    "closed_lost_reason": [
        ("price", "价格", "Price", None),
        ("competitor", "输给竞争对手", "Lost to a competitor", None),
        ("no_budget", "无预算", "No budget", None),
        ("no_decision", "未决策", "No decision", None),
        ("product_fit", "产品不匹配", "Product fit", None),
    ],
    "task_status": [
        ("not_started", "未开始", "Not started", None),
        ("in_progress", "进行中", "In progress", None),
        ("completed", "已完成", "Completed", {"closed": True}),
        ("deferred", "已推迟", "Deferred", None),
    ],
    "priority": [
        ("high", "高", "High", None),
        ("normal", "中", "Normal", None),
        ("low", "低", "Low", None),
    ],
    "event_type": [
        ("call", "电话", "Call", None),
        ("meeting", "会议", "Meeting", None),
        ("visit", "拜访", "Visit", None),
        ("demo", "产品演示", "Demo", None),
    ],
    "threat_level": [
        ("high", "高", "High", None),
        ("medium", "中", "Medium", None),
        ("low", "低", "Low", None),
    ],
    "case_priority": [
        ("urgent", "紧急", "Urgent", None),
        ("high", "高", "High", None),
        ("normal", "中", "Normal", None),
        ("low", "低", "Low", None),
    ],
    "campaign_type": [
        ("conference", "会议", "Conference", None),
        ("webinar", "网络研讨会", "Webinar", None),
        ("trade_show", "展会", "Trade show", None),
        ("email", "邮件营销", "Email", None),
        ("advertisement", "广告", "Advertisement", None),
        ("direct_mail", "直邮", "Direct mail", None),
        ("telemarketing", "电话营销", "Telemarketing", None),
        ("other", "其他", "Other", None),
    ],
    "campaign_status": [
        ("planned", "计划中", "Planned", None),
        ("in_progress", "进行中", "In progress", None),
        ("completed", "已完成", "Completed", {"closed": True}),
        ("aborted", "已中止", "Aborted", {"closed": True}),
    ],
    "member_status": [
        ("planned", "计划", "Planned", None),
        ("sent", "已发送", "Sent", None),
        ("received", "已收到", "Received", None),
        ("opened", "已打开", "Opened", None),
        ("responded", "已回应", "Responded", {"responded": True}),
        ("unsubscribed", "退订", "Unsubscribed", None),
    ],
    "case_channel": [
        ("phone", "电话受理", "Phone", None),
        ("other", "非电话受理", "Other channel", None),
    ],
    "case_target": [
        ("company", "投诉成员企业", "Member company", None),
        ("call_centre", "投诉呼叫中心", "Call centre", None),
    ],
    "article_category": [
        ("faq", "常见问题", "FAQ", None),
        ("troubleshooting", "故障处理", "Troubleshooting", None),
        ("policy", "服务政策", "Service policy", None),
        ("product", "产品知识", "Product knowledge", None),
        ("safety", "安全用气", "Safety", None),
        ("other", "其他", "Other", None),
    ],
    "company_type": [
        ("manufacturer", "生产厂商", "Manufacturer", None),
        ("distributor", "经销商", "Distributor", None),
        ("service_provider", "服务商", "Service provider", None),
        ("software_vendor", "软件厂商", "Software vendor", None),
        ("other", "其他", "Other", None),
    ],
    "contact_role": [
        ("decision_maker", "决策者", "Decision maker", None),
        ("influencer", "影响者", "Influencer", None),
        ("evaluator", "评估者", "Evaluator", None),
        ("user", "使用者", "User", None),
        ("other", "其他", "Other", None),
    ],
}

# Human names of the tables, for the editor (Chinese, English).
TABLE_NAMES: dict[str, tuple[str, str]] = {
    "lead_status": ("线索状态", "Lead status"),
    "lead_source": ("线索来源", "Lead source"),
    "industry": ("行业", "Industry"),
    "rating": ("评级", "Rating"),
    "account_type": ("客户类型", "Account type"),
    "account_level": ("客户等级", "Account level"),
    "ownership": ("公司性质", "Ownership"),
    "opportunity_stage": ("销售阶段", "Opportunity stage"),
    "opportunity_type": ("机会类型", "Opportunity type"),
    "contact_method": ("联系方式", "Contact method"),
    "closed_lost_reason": ("丢单原因", "Closed-lost reason"),
    "forecast_category": ("预测类别", "Forecast category"),
    "task_status": ("任务状态", "Task status"),
    "priority": ("优先级", "Priority"),
    "event_type": ("事件类型", "Event type"),
    "threat_level": ("威胁程度", "Threat level"),
    "case_priority": ("工单优先级", "Case priority"),
    "campaign_type": ("活动类型", "Campaign type"),
    "campaign_status": ("活动状态", "Campaign status"),
    "member_status": ("成员响应状态", "Member response"),
    "case_channel": ("受理渠道", "Channel"),
    "case_target": ("投诉对象", "Complaint target"),
    "article_category": ("知识分类", "Article category"),
    "company_type": ("公司类型", "Company type"),
    "contact_role": ("联系人角色", "Contact role"),
}


def default_rows() -> list[dict[str, Any]]:
    """The default values as rows for a bulk insert (migration and tests)."""
    rows = []
    for table, values in DEFAULTS.items():
        for order, (code, zh, en, extra) in enumerate(values):
            rows.append({"table_name": table, "code": code, "label_zh": zh, "label_en": en,
                         "sort_order": (order + 1) * 10, "active": True, "extra": extra})
    return rows

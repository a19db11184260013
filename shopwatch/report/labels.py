"""The report's words in Chinese (the default) and English: one table per language, the same keys in both."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

ZH: dict[str, str] = {
    "title": "{year}年{month}月 案情分析月报",
    "period": "统计周期：{start} 至 {end}（{zone}），环比对象：{previous}",
    "made": "生成时间：{made}",
    "no_data": "本月无数据",
    "grids": "统计网格：{grids}",
    "summary": "总体情况",
    "metric": "指标",
    "this_month": "本月",
    "last_month": "上月",
    "mom": "环比",
    "year_ago": "去年同月",
    "yoy": "同比",
    "events": "事件数",
    "confirmed": "确认案事件",
    "false_positives": "误报",
    "incidents": "警情数",
    "case_rate": "案发率变化",
    "case_rate_note": "案发数为经值班员确认（已派警或已处置）的事件数；案发率变化为本月案发数相对上月（环比）"
    "与去年同月（同比）的增减。",
    "by_grid": "分网格统计",
    "by_type": "分类型统计",
    "by_hour": "分时段统计（按小时）",
    "by_weekday": "分星期统计",
    "grid": "网格",
    "type": "类型",
    "hour": "时段",
    "weekday": "星期",
    "hot_spots": "贴卡热点",
    "hot_spots_none": "本月无贴卡热点（同一位置贴卡两次及以上）。",
    "card_hours": "贴卡高发时段（建议巡逻时间）：{hours}",
    "card_hour": "{hour:02d}时（{count}起）",
    "camera": "摄像头",
    "shop": "商户",
    "address": "地址",
    "zone": "位置",
    "card_postings": "贴卡次数",
    "advice": "建议",
    "precision": "各摄像头检测准确率（由低到高）",
    "precision_note": "准确率 = 确认 ÷（确认 + 误报），按值班员的处置结论计算；无结论的事件不计入。",
    "precision_none": "本月无事件。",
    "precision_overall": "本月总体准确率：{ratio}（确认 {confirmed}，误报 {false_positives}）。",
    "precision_cut": "本月共 {total} 路摄像头有事件，此处列出准确率最低的 {shown} 路；完整列表见统计导出（XLSX/CSV）。",
    "judged": "已研判",
    "ratio": "准确率",
    "total": "合计",
    "legend_now": "本月",
    "legend_before": "上月",
    "new": "新增",
    "sep": "、",  # between the items of a list
    "tips": "群众线索",
    "tips_none": "本月无群众线索。",
    "tips_filed": "线索数",
    "tips_confirmed": "已确认",
    "tips_led_to_case": "促成破案",
    "tips_by_grid": "分网格",
    "tips_by_type": "分类型",
    "tips_note": "线索为义警、网格员等群众报送（按发现时间统计）；已确认指立为或并入警情；未定位指地点未能匹配。",
    "unresolved": "未定位",
}

EN: dict[str, str] = {
    "title": "Case analysis, {month_name} {year}",
    "period": "Period: {start} to {end} ({zone}); compared with {previous}",
    "made": "Made at {made}",
    "no_data": "No data this month",
    "grids": "Grids: {grids}",
    "summary": "Summary",
    "metric": "Measure",
    "this_month": "This month",
    "last_month": "Last month",
    "mom": "Change",
    "year_ago": "A year ago",
    "yoy": "Year on year",
    "events": "Events",
    "confirmed": "Confirmed",
    "false_positives": "False positives",
    "incidents": "Incidents",
    "case_rate": "Case rate change",
    "case_rate_note": "Cases are events an operator confirmed (dispatched or resolved); the case rate change is this "
    "month's cases against last month's and against the same month a year earlier.",
    "by_grid": "By grid",
    "by_type": "By type",
    "by_hour": "By hour of day",
    "by_weekday": "By day of week",
    "grid": "Grid",
    "type": "Type",
    "hour": "Hour",
    "weekday": "Day",
    "hot_spots": "Card-posting hot spots",
    "hot_spots_none": "No card-posting hot spot this month (two or more postings on one surface).",
    "card_hours": "Busiest card-posting hours (when to patrol): {hours}",
    "card_hour": "{hour:02d}:00 ({count})",
    "camera": "Camera",
    "shop": "Shop",
    "address": "Address",
    "zone": "Surface",
    "card_postings": "Postings",
    "advice": "Suggested",
    "precision": "Detection precision per camera (least precise first)",
    "precision_note": "Precision = confirmed / (confirmed + false positives), from operators' verdicts; events "
    "without a verdict do not count.",
    "precision_none": "No events this month.",
    "precision_overall": "Precision this month: {ratio} ({confirmed} confirmed, {false_positives} false positives).",
    "precision_cut": "{total} cameras had events this month; the {shown} least precise are listed; the whole list "
    "is in the stats export (XLSX/CSV).",
    "judged": "Judged",
    "ratio": "Precision",
    "total": "Total",
    "legend_now": "This month",
    "legend_before": "Last month",
    "new": "new",
    "sep": ", ",
    "tips": "Tips from people",
    "tips_none": "No tips this month.",
    "tips_filed": "Tips",
    "tips_confirmed": "Confirmed",
    "tips_led_to_case": "Led to a case",
    "tips_by_grid": "By grid",
    "tips_by_type": "By type",
    "tips_note": "Tips filed by volunteers, grid workers and others (counted by when they saw it); confirmed: became "
    "or joined an incident; unresolved: the place matched nothing.",
    "unresolved": "unresolved",
}

TYPES = {
    "zh": {"card_posting": "贴卡", "loitering": "徘徊", "intrusion": "闯入", "suspicious_person": "可疑人员",
           "hazard": "安全隐患", "other": "其他"},
    "en": {"card_posting": "Card posting", "loitering": "Loitering", "intrusion": "Intrusion",
           "suspicious_person": "Suspicious person", "hazard": "Hazard", "other": "Other"},
}  # fmt: skip
WEEKDAYS = {
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
ADVICE = {
    "zh": {
        "patrol": "建议巡逻",
        "deter": "建议自动劝阻",
        "deterred": "已自动劝阻",
        "no_speaker": "无可用喇叭，不能自动劝阻",
    },
    "en": {
        "patrol": "patrol",
        "deter": "auto-deterrence",
        "deterred": "already warned automatically",
        "no_speaker": "no usable speaker for warnings",
    },
}
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]  # fmt: skip


def words(lang: Lang) -> dict[str, str]:
    return ZH if lang == "zh" else EN

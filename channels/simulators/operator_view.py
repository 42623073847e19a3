"""The operator view of the simulator server: every platform's state on one Chinese page.

/             the page (refreshes itself every 3 seconds)
/api/state    the same as JSON
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, render_template_string
from flask.typing import ResponseReturnValue


def operator_app(
    state: Callable[[], dict[str, Any]], wecom_messages: Callable[[], list[dict[str, Any]]]
) -> Flask:
    """`state()`: {"platforms": [snapshot, ...]}; `wecom_messages()`: the notifications sent."""
    app = Flask("sanshen-simulators")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.get("/")
    def operator_page() -> ResponseReturnValue:
        return render_template_string(
            _PAGE,
            platforms=state()["platforms"],
            wecom=list(reversed(wecom_messages()[-30:])),
        )

    @app.get("/api/state")
    def api_state() -> ResponseReturnValue:
        return jsonify(state())

    return app


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="3">
<title>模拟平台运行情况</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
section { border: 1px solid #ccc; padding: 0.5em 1em; margin-bottom: 1em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; font-size: 90%; }
.dup { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>模拟平台运行情况</h1>
<p>每 3 秒自动刷新。数据接口：<a href="api/state">api/state</a></p>
{% for p in platforms %}
<section>
<h2>{{ p.display_name }}（{{ p.name }}）</h2>
<p>已发布稿件 {{ p.ledger | length }} 篇，发布次数 {{ p.ledger.values() | sum }} 次；
{% if p.duplicates %}<span class="dup">重复发布 {{ p.duplicates | length }} 篇：
{% for key, n in p.duplicates.items() %}{{ key }} × {{ n }}{% if not loop.last %}，{% endif %}
{% endfor %}</span>{% else %}无重复发布{% endif %}</p>
<p>公开页面 {{ p.pages | length }} 个{% if p.pages %}（{% for page in p.pages -%}
<a href="{{ page.url }}">{{ page.title }}</a>{% if page.state == "gone" %}（已下线）{% endif %}
{%- if page.faults %}（故障：{{ page.faults | join("、") }}）{% endif %}
{%- if not loop.last %}；{% endif %}{% endfor %}）{% endif %}
{% if p.cms %}；<a href="{{ p.name }}/cms/">内容管理后台</a>{% endif %}</p>
<p>故障设置：
{% for kind, rate in p.faults.rates.items() %}{{ kind }} {{ rate }}；{% endfor %}
延迟 {{ p.faults.latency_ms }} 毫秒；挂起 {{ p.faults.hang_s }} 秒；
限流等待 {{ p.faults.retry_after_s }} 秒；确认延迟 {{ p.faults.confirm_delay_s }} 秒；
丢弃答复 {{ p.faults.drop_reply_rate }}</p>
<table>
<tr><th>时间</th><th>操作</th><th>内容</th></tr>
{% for r in p.received | reverse %}
<tr><td>{{ r.at }}</td><td>{{ r.operation }}</td>
<td>{% for k, v in r.items() if k not in ("at", "operation") -%}
{{ k }}={{ v }} {% endfor %}</td></tr>
{% else %}
<tr><td colspan="3">尚未收到请求</td></tr>
{% endfor %}
</table>
</section>
{% endfor %}
<section id="wecom">
<h2>企业微信应用消息（通知）</h2>
<p>三审发布发给个人的通知（轮到本人审核、稿件被退回、发布失败、超时提醒），最新在前。</p>
<table>
<tr><th>时间</th><th>收件人</th><th>标题</th><th>内容</th><th>链接</th></tr>
{% for m in wecom %}
<tr><td>{{ m.at }}</td><td>{{ m.userid }}</td><td>{{ m.textcard.title if m.textcard else "" }}</td>
<td>{{ m.textcard.description if m.textcard else m.text }}</td>
<td>{% if m.textcard %}<a href="{{ m.textcard.url }}">{{ m.textcard.btntxt or "详情" }}</a>
{%- endif %}</td></tr>
{% else %}
<tr><td colspan="5">尚无消息</td></tr>
{% endfor %}
</table>
</section>
</body>
</html>
"""

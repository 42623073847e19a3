"""Page furniture: the text a platform's template puts around an article.

An extractor keeps some of it at the article's edges: "来源：… 编辑：… 发布时间：… 浏览次数：…",
"字号 大 中 小", "分享到 微信 微博", "打印本页", "责任编辑：…", "上一篇：…", a related-articles
list, the title again. `is_furniture` accepts a segment only when it reads, from start to end,
as such items: a label with a value of the label's kind (a date after 发布时间, a count after
浏览次数, a short name without sentence punctuation after 来源 or 编辑), a fixed phrase, a
date, a number, a separator, or a known string (the title, the parts of the page's <title>,
names the caller knows). A sentence — anything with 。！？； or a comma outside a value of its
own kind — is never furniture, so text added to the article is never taken for it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable


def _words(text: str) -> list[str]:
    return text.split()


# A label and the kind of value it takes. Values run to the next label or phrase.
_TEXT = "text"
_DATE = "date"
_COUNT = "count"
_TITLE = "title"
_FONT = "font"
_LABELS = {
    _TEXT: (
        "来源 稿件来源 信息来源 文章来源 新闻来源 稿源 出处 作者 撰稿 撰稿人 供稿 供稿单位 编辑 "
        "责任编辑 责编 编审 编校 主编 审核 审稿 审校 校对 终审 初审 复审 签发 摄影 摄像 记者 "
        "通讯员 发布者 发布人 发布机构 发布单位 发文机关 发文单位 发表于 所属栏目 栏目 主题分类 "
        "分类 主题词 关键词 标签 文号 发文字号 索引号 信息索引号 公开方式 公开范围 主办 主办单位 "
        "承办 承办单位 协办单位 联系电话 分享到 分享至 分享 当前位置 您的位置 您当前的位置 "
        "您现在的位置 所在位置 网站标识码 版权所有 公众号 关注该公众号 图: 文: 图/"
    ),
    _DATE: (
        "发布时间 发布日期 发表时间 发文日期 成文日期 印发日期 更新时间 更新日期 修改时间 "
        "生成日期 时间 日期 发布"
    ),
    _COUNT: (
        "浏览次数 浏览量 浏览 阅读量 阅读数 阅读次数 阅读 点击数 点击量 点击率 点击次数 点击 "
        "访问量 访问次数 访问人数 访问 在看 点赞 评论 转发 收藏 喜欢 赞"
    ),
    _TITLE: "上一篇 下一篇 上一条 下一条 前一篇 后一篇",
    _FONT: "字号 字体 文字大小",
}
_PHRASES = _words(
    "大中小 打印本页 打印此页 打印文章 打印 关闭窗口 关闭本页 关闭 返回顶部 返回首页 返回列表 "
    "返回 顶部 收藏本页 加入收藏 新浪微博 腾讯微博 微博 微信好友 微信 朋友圈 QQ空间 QQ好友 QQ "
    "豆瓣 复制链接 复制网址 扫一扫在手机打开当前页 手机扫一扫 扫一扫 用手机扫描二维码 二维码 "
    "在手机上打开 在手机打开当前页 分享给朋友 我要纠错 纠错 留言 写留言 阅读原文 原文链接 原创 "
    "关注 繁体 简体 繁體 无障碍 默认 正文 首页 没有了 无 搜索 登录 注册 支付宝 APP App 客户端 "
    "下载客户端 下载APP 微信扫一扫 "
    # where the reader is, as WeChat prints it (IP属地)
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 "
    "湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
)
_RELATED = frozenset(
    _words(
        "相关文章 相关阅读 相关链接 相关新闻 相关稿件 相关信息 相关推荐 推荐阅读 延伸阅读 "
        "热点推荐 猜你喜欢 往期回顾 热门文章 最新文章 更多资讯 喜欢此内容的人还喜欢"
    )
)
_FONT_WORDS = re.compile(r"(?:特大|大|中|小|默认|标准|A\+|A-|A|T\+|T-|T|[\[\]()|/<>【】·,、.-])*")
_SENTENCE = re.compile(r"[。!?;]")
_SENTENCE_OR_COMMA = re.compile(r"[。!?;,]")
_DATE_ITEM = (
    r"\d{2,4}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?|\d{1,2}月\d{1,2}日|\d{1,2}:\d{2}(?::\d{2})?"
    r"|星期[一二三四五六日天]|周[一二三四五六日]"
)
_BRACKETS = r"[\[\]()|/·,-]*"
_DATE_VALUE = re.compile(rf"(?:{_DATE_ITEM}|{_BRACKETS[:-1]})*")
_COUNT_VALUE = re.compile(
    rf"{_BRACKETS}(?:\d[\d,.]*(?:万|千|w|W|k|K)?\+?(?:次|人次|人)?)?{_BRACKETS}"
)
_SEPARATORS = r"[|/\\·_~:()\[\]【】〔〕<>《》\"'*#»›«‹,、.=+>-]+"
_TEXT_MAX = 40
_TITLE_MAX = 80


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_KIND_OF = {word: kind for kind, words in _LABELS.items() for word in _words(words)}
_LABEL = re.compile(f"({_alternation(_KIND_OF)}):?")
_LABEL_STOP = re.compile(_alternation(_KIND_OF))
_STOP = re.compile(
    f"(?:{_alternation(_KIND_OF)}|{_alternation(w for w in _PHRASES if len(w) > 1)})"
)
_PLAIN = re.compile(f"(?:{_alternation(_PHRASES)}|{_DATE_ITEM}|\\d+(?:[.,]\\d+)*万?|{_SEPARATORS})")


def _value_ok(kind: str, value: str) -> bool:
    if kind == _TEXT:
        return len(value) <= _TEXT_MAX and _SENTENCE_OR_COMMA.search(value) is None
    if kind == _TITLE:
        return len(value) <= _TITLE_MAX and _SENTENCE.search(value) is None
    if kind == _DATE:
        return _DATE_VALUE.fullmatch(value) is not None
    if kind == _COUNT:
        return _COUNT_VALUE.fullmatch(value) is not None
    return _FONT_WORDS.fullmatch(value) is not None


def _items_only(segment: str) -> bool:
    position, end = 0, len(segment)
    while position < end:
        label = _LABEL.match(segment, position)
        if label is not None:
            kind = _KIND_OF[label.group(1)]
            # names and titles run to the next label; dates and counts stop at a phrase too
            stops = _LABEL_STOP if kind in (_TEXT, _TITLE) else _STOP
            stop = stops.search(segment, label.end())
            value_end = stop.start() if stop is not None else end
            if not _value_ok(kind, segment[label.end() : value_end]):
                return False
            position = value_end
            continue
        plain = _PLAIN.match(segment, position)
        if plain is None or plain.end() == position:
            return False
        position = plain.end()
    return True


def is_related_heading(segment: str) -> bool:
    return segment.strip("|:：()[]【】<>") in _RELATED


def looks_like_link_title(segment: str) -> bool:
    """A line of a related-articles list: a short title, perhaps with its date."""
    return len(segment) <= _TITLE_MAX and _SENTENCE.search(segment) is None


class Furniture:
    """Decides which segments of normalised text are page furniture.

    `known` are normalised strings that count as furniture wherever they stand: the signed
    title, the parts of the page's <title>, the site's and the account's names.
    """

    def __init__(self, known: Collection[str]) -> None:
        self._known = sorted({k for k in known if len(k) >= 2}, key=len, reverse=True)

    def is_furniture(self, segment: str) -> bool:
        for known in self._known:
            if known in segment:
                segment = segment.replace(known, "|")
        return _items_only(segment)

    def outside(self, segments: Iterable[str]) -> list[str]:
        """The segments, in order, that are not furniture. After a related-articles heading,
        short title lines count as the list's entries."""
        found = []
        in_related = False
        for segment in segments:
            if is_related_heading(segment):
                in_related = True
            elif not self.is_furniture(segment) and not (
                in_related and looks_like_link_title(segment)
            ):
                found.append(segment)
        return found

"""Strings the browser's scripts show, taken from the catalogue like all UI text."""
from flask_babel import gettext as _


def js_strings():
    return {
        "saved": _("已保存在本机，联网后自动同步"),
        "submitted": _("已提交"),
        "saveFailed": _("没有保存成功，请再点一次保存。"),
        "households": _("共%(n)s户", n="%(n)s"),
        "serverError": _("服务器处理这条记录时出错，会稍后重试；可以下载保存后删除"),
        "waiting": _("待同步"),
        "stuck": _("未被接受"),
        "offline": _("离线中"),
        "preparing": _("正在准备离线数据…"),
        "prepared": _("离线数据已准备好"),
        "prepareFailed": _("准备离线失败，请联网后重试"),
        "oldRecords": _("有记录超过3天未同步，请尽快联网同步，以免手机清理数据时丢失。"),
        "relogin": _("登录已过期，请重新登录后同步。"),
        "cachedAt": _("离线查看，页面更新于"),
        "sosQueued": _("没有网络：求助已保存，联网后立即发送。请直接拨打电话："),
        "sosSent": _("求助已发出，网格员会尽快联系您。"),
        "pushOn": _("已开启通知"),
        "pushOff": _("已关闭通知"),
        "pushUnsupported": _("此浏览器不支持通知"),
        "photoShrinking": _("正在压缩照片…"),
        "photoReady": _("照片已就绪"),
        "photoNotImage": _("所选文件不是照片，请重新选择。"),
        "photoTooLarge": _("照片太大，无法压缩到200KB以内，请换一张。"),
        "confirmDrop": _("确定删除这条记录吗？删除后无法恢复。"),
    }

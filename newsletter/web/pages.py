"""The app's pages: Jinja2 templates under ``templates/web/`` and their words per language."""

from __future__ import annotations

from typing import Any

import jinja2

from ..render.renderer import make_env

LANGUAGES = (("ko", "한국어"), ("en", "English"))

WORDS: dict[str, dict[str, str]] = {
    "ko": {
        "signup": "구독 신청",
        "signup_intro": "매일 아침 AI 논문 요약을 메일로 받아 보세요. 신청 후 확인 메일의 링크를"
        " 눌러야 구독이 시작됩니다.",
        "email": "이메일 주소",
        "topics": "주제",
        "topics_note": "아무것도 고르지 않으면 모든 논문을 받습니다.",
        "language": "언어",
        "subscribe": "구독 신청",
        "check_inbox": "메일함을 확인해 주세요",
        "check_inbox_text": "구독할 수 있는 주소라면 확인 링크가 담긴 메일이 곧 도착합니다."
        " 링크를 눌러야 구독이 시작됩니다.",
        "busy": "요청이 너무 많습니다",
        "confirm": "구독 확인",
        "confirm_text": "{email} 주소의 구독을 확인하려면 아래 버튼을 누르세요.",
        "confirmed": "구독이 확인되었습니다",
        "confirmed_text": "{email} 주소로 다음 호부터 보내 드립니다.",
        "preferences": "구독 설정",
        "prefs_for": "구독 설정:",
        "pause_legend": "일시 중지",
        "pause": "당분간 메일을 받지 않음",
        "save": "저장",
        "saved": "저장했습니다. 다음 호부터 적용됩니다.",
        "resubscribe": "다시 구독",
        "is_unsubscribed": "현재 구독 해지 상태입니다. 아래에서 다시 구독할 수 있습니다.",
        "suppressed": "이 주소로 보낸 메일이 반송되었거나 스팸 신고되어 발송을 멈췄습니다.",
        "unsubscribe": "구독 해지",
        "unsubscribe_text": "{email} 주소의 구독을 해지할까요?",
        "unsubscribed": "구독이 해지되었습니다",
        "unsubscribed_text": "{email} 주소로 더 이상 보내지 않습니다.",
        "link_refused": "이 링크는 사용할 수 없습니다",
        "form_refused": "양식을 처리할 수 없습니다",
        "to_preferences": "구독 설정으로",
        "to_signup": "구독 신청 페이지로",
    },
    "en": {
        "signup": "Subscribe",
        "signup_intro": "Get the day's AI papers, summarised, in your inbox every morning. Your"
        " subscription starts once you click the link in the confirmation email.",
        "email": "Email address",
        "topics": "Topics",
        "topics_note": "Pick none to receive every paper.",
        "language": "Language",
        "subscribe": "Subscribe",
        "check_inbox": "Check your inbox",
        "check_inbox_text": "If this address can be subscribed, an email with a confirmation"
        " link is on its way. Your subscription starts when you click it.",
        "busy": "Too many requests",
        "confirm": "Confirm your subscription",
        "confirm_text": "Press the button to confirm the subscription of {email}.",
        "confirmed": "Subscription confirmed",
        "confirmed_text": "{email} will receive the next edition.",
        "preferences": "Your subscription",
        "prefs_for": "Preferences of",
        "pause_legend": "Pause",
        "pause": "Pause emails for now",
        "save": "Save",
        "saved": "Saved. The next edition follows your choices.",
        "resubscribe": "Subscribe again",
        "is_unsubscribed": "You are unsubscribed. You can subscribe again below.",
        "suppressed": "Mail to this address bounced or was reported as spam, so we stopped"
        " sending.",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_text": "Unsubscribe {email}?",
        "unsubscribed": "Unsubscribed",
        "unsubscribed_text": "{email} will receive no more emails from us.",
        "link_refused": "This link cannot be used",
        "form_refused": "This form cannot be accepted",
        "to_preferences": "Your preferences",
        "to_signup": "Back to sign-up",
    },
}


class Pages:
    """Renders the app's pages (autoescaped) in the edition's language."""

    def __init__(self, language: str, site_title: str) -> None:
        self.env: jinja2.Environment = make_env()
        self.language = language if language in WORDS else "en"
        self.site_title = site_title

    def words(self, language: str | None = None) -> dict[str, str]:
        return WORDS.get(language or self.language, WORDS[self.language])

    def render(self, name: str, heading_key: str, words_in: str | None = None, **ctx: Any) -> str:
        """Page ``name`` with its heading, in ``words_in`` (default: the edition's language)."""
        words = self.words(words_in)
        return self.env.get_template(f"web/{name}.html.j2").render(
            lang=words_in or self.language,
            L=words,
            heading=words[heading_key],
            site_title=self.site_title,
            languages=LANGUAGES,
            **ctx,
        )

    def message(
        self,
        heading_key: str,
        *lines: str,
        error: bool = False,
        link: str = "",
        link_key: str = "",
        language: str | None = None,
    ) -> str:
        """A page with a heading and a few lines (and maybe one link)."""
        words = self.words(language)
        return self.render(
            "message",
            heading_key,
            language,
            lines=list(lines),
            error=error,
            link=link,
            link_text=words.get(link_key, ""),
        )

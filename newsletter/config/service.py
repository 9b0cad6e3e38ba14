"""The list service's settings: ``[web]`` (``newsletter serve``), ``[feedback]`` (bounces and
complaints) and ``[archive]`` (``newsletter publish``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Where SNS keeps its signing certificates (sns.<region>.amazonaws.com, .com.cn in China).
SNS_CERT_URL_PATTERN = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[A-Za-z0-9_./-]+\.pem$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WebSettings(_Section):
    # The public address of `newsletter serve` behind the reverse proxy (https://...); the
    # confirm, preferences and unsubscribe links point here. "" = no web links in emails.
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed (the proxy's).
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    max_body_bytes: int = Field(16_384, ge=1024)
    # A request (headers and body) must arrive whole within this many seconds.
    request_timeout_s: float = Field(10.0, gt=0)
    idle_timeout_s: float = Field(5.0, gt=0)  # keep-alive: an idle connection is closed
    max_connections: int = Field(500, ge=1)
    signup_per_client: int = Field(5, ge=1)  # sign-ups from one client per hour
    # Confirmation emails to one address while its link is valid (1: never a second one).
    signup_per_address: int = Field(1, ge=1)
    confirm_max_age_hours: int = Field(48, ge=1)
    link_max_age_days: int = Field(365, ge=1)  # preferences and unsubscribe links in emails
    # Undated unsubscribe links (mailed before dated tokens) keep working this many days after
    # the store first saw dated ones; then the page says why they no longer do.
    legacy_grace_days: int = Field(90, ge=0)


class FeedbackSettings(_Section):
    queue_url: str = ""  # the SQS queue the SNS topic of SES events delivers to
    region: str = ""  # "" = delivery.ses.region
    endpoint_url: str = ""
    wait_s: int = Field(20, ge=0, le=20)  # SQS long polling
    visibility_timeout_s: int = Field(60, ge=0)
    # Transient (soft) bounces: this many within the window suppress the address.
    transient_limit: int = Field(3, ge=1)
    transient_window_days: int = Field(14, ge=1)
    # POST /sns in `serve`: notifications straight from SNS over HTTPS ("" = off).
    sns_topic_arn: str = ""
    sns_cert_url_pattern: str = SNS_CERT_URL_PATTERN
    recent_editions: int = Field(7, ge=1)  # `status` rates over the last N editions
    # `status` warns from these rates on, well before SES's review (5% / 0.1%).
    warn_bounce_rate: float = Field(0.02, ge=0, le=1)
    warn_complaint_rate: float = Field(0.0005, ge=0, le=1)


class ArchiveSettings(_Section):
    # Where the published archive is reachable (https://news.example.com/archive): the
    # email's "read the full edition" link and shortened cards point into it.
    base_url: str = ""
    folder: str = ""  # "" = DATA/archive
    title: str = ""  # "" = edition.title
    figures: bool = True  # copy each paper's key figure into the archive; cards show it
    figure_max_bytes: int = Field(2_000_000, ge=1024)

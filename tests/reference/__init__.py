"""Third-party reference material (specifications, schemas, real payloads), vendored so CI needs no network.

See SOURCES.md here for where each file comes from, at which commit, under which licence.
"""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent
SLACK_PAYLOADS = REFERENCE / "slack" / "payloads"
SLACK_WEB_SPEC = REFERENCE / "slack" / "spec" / "slack_web_openapi_v2.json"
TEAMS = REFERENCE / "teams"

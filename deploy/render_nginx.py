"""Render deploy/nginx.conf.template: ``python deploy/render_nginx.py --listen 80 --app 10.0.0.11:8000 …``."""

import argparse
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def render(*, listen: str, apps: list[str], static_root: str, prefix: str) -> str:
    upstreams = "\n".join(f"        server {app} max_fails=1 fail_timeout=10s;" for app in apps)
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {"LISTEN": listen, "UPSTREAMS": upstreams, "STATIC_ROOT": static_root.rstrip("/"),
                       "PREFIX": prefix.rstrip("/")}.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="80")
    parser.add_argument("--app", action="append", required=True, help="host:port of an app process (repeat)")
    parser.add_argument("--static-root", default="/srv/hotline/var/static")
    parser.add_argument("--prefix", default="/var/lib/hotline-nginx")
    parser.add_argument("--output", default="-")
    args = parser.parse_args()
    text = render(listen=args.listen, apps=args.app, static_root=args.static_root, prefix=args.prefix)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

"""Run the emulator as its own process.

    python -m integrations.salesforce.emulator --host 127.0.0.1 --port 8443 \\
        --tls-dir var/emulator [--http] [--client-id ID --client-secret SECRET] \\
        [--callback-url URL ...] [--seed-refresh-token TOKEN ...] [--config faults.json] \\
        [--org lived_in|blank]

HTTPS is the default: the CA to trust is printed (``requests`` ``verify=<ca path>``).
``--http`` serves plain HTTP instead, for tools that cannot be told about a CA; note
simple-salesforce always builds https:// URLs, so it needs HTTPS or a rewriting adapter.
``--org`` picks the org: ``lived_in`` (default: a customer's org with people, rules and a
queue, see seed.py) or ``blank``.
"""

from __future__ import annotations

import argparse
import json
import sys

from .org import DEFAULT_CALLBACK_URL, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from .server import EmulatorServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m integrations.salesforce.emulator",
        description="Local Salesforce emulator (OAuth + REST subset) for LeadSync.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--tls-dir", default="var/emulator", help="CA + certificate directory")
    parser.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS")
    parser.add_argument("--client-id", help=f"Connected App consumer key ({DEFAULT_CLIENT_ID})")
    parser.add_argument("--client-secret", help=f"consumer secret ({DEFAULT_CLIENT_SECRET})")
    parser.add_argument(
        "--callback-url",
        action="append",
        dest="callback_urls",
        help=f"Connected App callback URL (repeatable; default {DEFAULT_CALLBACK_URL})",
    )
    parser.add_argument(
        "--seed-refresh-token",
        action="append",
        dest="seed_refresh_tokens",
        default=[],
        help="refresh token valid for the default user from the start (repeatable)",
    )
    parser.add_argument("--config", help="JSON file: fault switches and/or config sections")
    parser.add_argument(
        "--org", choices=("lived_in", "blank"), help="lived_in (default) or a blank org"
    )
    parser.add_argument("--random-seed", type=int, help="seed for rate_503 / rate_lock")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config: dict = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            config = json.load(fh)
    # Flags win over the file; the file wins over the built-in defaults.
    if args.client_id:
        config["client_id"] = args.client_id
    if args.client_secret:
        config["client_secret"] = args.client_secret
    if args.callback_urls:
        config["callback_urls"] = args.callback_urls
    seeds = list(config.get("seed_refresh_tokens", [])) + args.seed_refresh_tokens
    config["seed_refresh_tokens"] = seeds
    if args.org:
        config["org"] = args.org
    if args.random_seed is not None:
        config["random_seed"] = args.random_seed
    try:
        server = EmulatorServer(
            args.host,
            args.port,
            args.tls_dir,
            use_tls=not args.http,
            quiet=not args.verbose,
            **config,
        )
        server.bind()
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 2
    print(f"Salesforce emulator listening on {server.base_url}", flush=True)
    if server.ca_path:
        print(f"CA certificate (trust this): {server.ca_path}", flush=True)
    print(f"Admin API (emulator only): {server.base_url}/__emulator__/state", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m services.stripe_standin --port 12111`: settings from STRIPE_STANDIN_* variables."""

import argparse
import os

import uvicorn

from services.stripe_standin.app import create_app
from services.stripe_standin.settings import StripeStandinSettings
from shared.gc_freeze import freeze_long_lived_objects
from shared.observability.logs import configure_logging_from_env


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Stripe stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args()
    configure_logging_from_env(service="stripe-standin")
    settings = StripeStandinSettings()
    if "STRIPE_STANDIN_PUBLIC_BASE_URL" not in os.environ:
        settings = settings.model_copy(
            update={"public_base_url": f"http://{args.host}:{args.port}"}
        )
    app = create_app(settings)
    freeze_long_lived_objects()
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()

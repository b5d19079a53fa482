"""pushpop-load: a load-testing toolkit for the push-pop-actor queue service, a Rust core under Locust."""

from pushpop_load._native import __version__, build_profile

__all__ = ["__version__", "build_profile"]

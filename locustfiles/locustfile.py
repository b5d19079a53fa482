"""Every scenario's user classes and shapes, so that Locust's web UI offers them all."""

from s3_mixed import MixedWorkloadUser  # noqa: F401

"""Every scenario's user classes, so that Locust's web UI offers them all (``locust -f locustfiles/locustfile.py
--class-picker``). Each ``sN_*.py`` also runs alone with ``-f``.

The S6 load shapes are imported only with ``--class-picker``: Locust applies the first shape it finds to every
run, so without the picker they would take over headless runs of the other scenarios.
"""

import os
import sys

from s1_push_only import PushMultiPriorityUser, PushMultiQueueUser, PushSingleQueueUser  # noqa: F401
from s2_pop_only import PopDepthHundredUser, PopDepthOneUser, PopDepthTenUser  # noqa: F401
from s3_mixed import (  # noqa: F401
    BalancedLargeItemsUser,
    ConsumerHeavyUser,
    MixedWorkloadUser,
    MultiPriorityMixedUser,
    ProducerHeavyUser,
)
from s4_concurrent import FiftyQueuesUser, HundredQueuesUser, SingleQueueUser, TenQueuesUser  # noqa: F401
from s5_queue_depth import (  # noqa: F401
    EmptyQueueUser,
    HundredThousandItemsUser,
    TenThousandItemsUser,
    ThousandItemsUser,
)
from s6_burst import BurstUser  # noqa: F401
from s7_failure import DrillUser, ExcessiveDepthUser, InvalidPayloadUser, NegativePriorityUser  # noqa: F401

if "--class-picker" in sys.argv or os.environ.get("LOCUST_CLASS_PICKER", "").lower() in ("1", "true", "yes"):
    from s6_burst import SineWaveShape, SpikeShape, SquareWaveShape  # noqa: F401

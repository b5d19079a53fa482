"""Open-model (arrival-rate) runs of the seed's rate targets: requests start on schedule whatever the answers do,
and every latency is counted from when its request was due (``pushpop_load.openmodel``).

| class | schedule (``--pp-schedule`` overrides) | operations |
|---|---|---|
| ``OpenPushUser`` | S1a: ramp 10 -> 100 RPS over 5 min | pushes, one queue, priority 0 |
| ``OpenMixedUser`` | S6a: sine 10 -> 200 -> 10 RPS over 5 min | pushes and pops 1:1, pop depth 10, priorities 0-2 |

    locust -f locustfiles/open_model.py OpenPushUser --headless -u 1 -t 5m --host http://127.0.0.1:8000
    locust -f locustfiles/open_model.py OpenMixedUser --headless -u 1 -t 5m --pp-schedule s6c --host ...
    locust -f locustfiles/open_model.py OpenMixedUser --headless -u 1 -t 1m --pp-schedule constant:rate=2000 ...

Presets for ``--pp-schedule``: ``s1a``, ``s6a``, ``s6b`` (square 200/10 RPS, 30 s each), ``s6c`` (50 RPS, a
one-minute spike to 500 at 4 min), or any spec: ``constant:rate=R``, ``ramp:from=A,to=B,over=D``,
``steps:rates=R1/R2,every=D``, ``sine:mean=M,amplitude=A,period=D``, ``square:low=L,high=H,period=D``,
``spike:base=B,peak=P,at=T,for=D``.
"""

from pushpop_load.openmodel import ArrivalRateUser


class OpenPushUser(ArrivalRateUser):
    schedule = "s1a"
    pop_weight = 0
    queue_count = 1


class OpenMixedUser(ArrivalRateUser):
    schedule = "s6a"
    pop_depth = 10
    priorities = (0, 1, 2)

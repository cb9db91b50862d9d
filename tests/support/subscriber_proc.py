"""A Subscriber as its own process, for kill tests: it appends each handled event to a file.

python -m tests.support.subscriber_proc BOOTSTRAP TOPIC GROUP OUT DELAY_MS

It is a static group member (`<group>-0`), so a restart takes its partitions back at once.

Each line is `event_id partition offset`, flushed before the handler returns, so a line exists
for every event whose offset could have been committed. SIGTERM stops it cleanly (exit 0).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from lienthong.contract.schemas import EventType
from lienthong.plumbing.settings import Settings
from lienthong.subscriber import CommitPolicy, Event, Subscriber

# Small commit batches, so a kill always leaves some handled events uncommitted.
COMMIT = CommitPolicy(every=10, interval_s=0.5)


def main(argv: list[str]) -> int:
    """Run the subscriber until SIGTERM."""
    bootstrap, topic, group, out = argv[:4]
    delay_s = int(argv[4]) / 1000
    sub = Subscriber(
        topic,
        group,
        kafka=Settings.from_env().kafka.model_copy(update={"bootstrap": bootstrap}),
        commit=COMMIT,
        consumer_options={"group_instance_id": f"{group}-0"},
    )
    with Path(out).open("a", encoding="utf-8") as log:

        def handle(event: Event[Any]) -> None:
            log.write(f"{event.event_id} {event.envelope.partition} {event.envelope.offset}\n")
            log.flush()
            time.sleep(delay_s)

        for event_type in EventType:
            sub.on(event_type)(handle)
        sub.stop_on_signals()
        print("subscriber running", flush=True)
        sub.run()
    print("subscriber stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

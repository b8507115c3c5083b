"""Redrive the stream's dead-letter queue: `python -m functions.stream_dispatcher.redrive --queue-url URL`.

Lambda puts only metadata in the queue (shard, sequence numbers), and the stream keeps records for 24
hours, so the records themselves are not replayed: every reaction is recomputed from the table's current
state instead (idempotent: nothing done twice), then the queue's messages are deleted. Run it with the
function's environment (TABLE_NAME, SITE_URL...) and credentials allowed to read the queue.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.adapters import aws
from shared.composition.reactions import reaction_service
from shared.settings import ReactionSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="redrive", description=__doc__)
    parser.add_argument("--queue-url", required=True, help="the StreamDeadLetterQueue's URL")
    args = parser.parse_args(argv)
    sqs = aws.client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    ):
        messages += batch
    for message in messages:
        info = json.loads(message["Body"]).get("DDBStreamBatchInfo", {})
        first, last = info.get("startSequenceNumber"), info.get("endSequenceNumber")
        print(f"failed batch: {info.get('batchSize')} record(s), sequence numbers {first} to {last}")
    counts = reaction_service(ReactionSettings.from_environment()).repair()
    print(f"repaired: {counts['registrations']} registration(s) checked, {counts['emails sent']} email(s) sent")
    for message in messages:  # only once the repair has succeeded
        sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
    print(f"deleted {len(messages)} message(s) from the queue")
    return 0


if __name__ == "__main__":
    sys.exit(main())

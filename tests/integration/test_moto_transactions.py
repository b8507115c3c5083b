"""The locked moto server's transactions: all or nothing (items and stream), at a cost that does not grow
with the table (moto itself copies every table a transaction writes to; infra/moto_server.py saves only the
items the transaction names); and its Query and projection shortcuts, which answer as moto does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def table(aws: boto3.session.Session) -> Iterator[tuple[DynamoDBClient, str]]:
    client = aws.client("dynamodb")
    name = f"transactions-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "event", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[  # the index Query's test; items without these attributes are in neither
            {
                "IndexName": "by-event",
                "KeySchema": [
                    {"AttributeName": "event", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client, name
    client.delete_table(TableName=name)


def key(pk: str, sk: str = "META") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def stream_records(aws: boto3.session.Session, client: DynamoDBClient, name: str) -> list[Any]:
    streams = aws.client("dynamodbstreams")
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def test_a_cancelled_transaction_leaves_no_item_and_no_stream_record(
    aws: boto3.session.Session, table: tuple[DynamoDBClient, str]
) -> None:
    client, name = table
    client.put_item(TableName=name, Item=key("B") | {"n": {"N": "1"}})
    client.put_item(TableName=name, Item=key("C") | {"n": {"N": "1"}})
    before = stream_records(aws, client, name)

    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": key("A") | {"n": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": key("B"),
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": name, "Item": key("C"), "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )

    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in client.get_item(TableName=name, Key=key("A"), ConsistentRead=True)
    assert client.get_item(TableName=name, Key=key("B"), ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    assert client.get_item(TableName=name, Key=key("C"), ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    assert stream_records(aws, client, name) == before


def test_a_transaction_writes_everything_and_streams_each_write(
    aws: boto3.session.Session, table: tuple[DynamoDBClient, str]
) -> None:
    client, name = table
    client.put_item(TableName=name, Item=key("B") | {"n": {"N": "1"}})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": key("A"), "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": name,
                    "Key": key("B"),
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert "Item" in client.get_item(TableName=name, Key=key("A"), ConsistentRead=True)
    assert client.get_item(TableName=name, Key=key("B"), ConsistentRead=True)["Item"]["n"] == {"N": "2"}
    assert [r["eventName"] for r in stream_records(aws, client, name)] == ["INSERT", "INSERT", "MODIFY"]


def test_a_transaction_does_not_copy_its_table(
    monkeypatch: pytest.MonkeyPatch, table: tuple[DynamoDBClient, str]
) -> None:
    client, name = table
    for number in range(50):
        client.put_item(TableName=name, Item=key(f"item-{number}"))
    copies: list[str] = []
    monkeypatch.setattr(Table, "__deepcopy__", lambda self, memo: copies.append(self.name), raising=False)

    client.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": key("new")}}])
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": key("item-1"), "ConditionExpression": "attribute_not_exists(pk)"}}
            ]
        )

    assert copies == []


def test_a_query_on_the_key_answers_its_partition_in_order_whatever_else_the_table_holds(
    table: tuple[DynamoDBClient, str],
) -> None:
    client, name = table
    for partition in ("A", "B", "C"):
        for sort in ("SIGNAL#2", "META", "SIGNAL#1", "SIGNAL#3"):
            client.put_item(TableName=name, Item=key(partition, sort) | {"p": {"S": partition}})

    def sorts(**options: Any) -> list[str]:
        answer = client.query(
            TableName=name,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": "B"}, ":s": {"S": "SIGNAL#"}},
            ConsistentRead=True,
            **options,
        )
        return [item["sk"]["S"] for item in answer["Items"]]

    assert sorts() == ["SIGNAL#1", "SIGNAL#2", "SIGNAL#3"]
    assert sorts(ScanIndexForward=False) == ["SIGNAL#3", "SIGNAL#2", "SIGNAL#1"]
    assert sorts(Limit=2) == ["SIGNAL#1", "SIGNAL#2"]
    counted = client.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "C"}},
        Select="COUNT",
    )
    assert counted["Count"] == 4
    empty = client.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "Z"}})
    assert empty["Items"] == []


def test_an_index_query_answers_the_items_with_its_key_in_index_order_whatever_else_the_table_holds(
    table: tuple[DynamoDBClient, str],
) -> None:
    client, name = table
    rows = [("R3", "e1", "02", "1"), ("R1", "e2", "01", "2"), ("R2", "e1", "03", "1.0"), ("R4", "e1", "01", "3")]
    for pk, event, at, day in rows:
        item = key(pk) | {"event": {"S": event}, "at": {"S": at}, "day": {"N": day}}
        client.put_item(TableName=name, Item=item)
    client.put_item(TableName=name, Item=key("R5"))  # in neither index

    def pks(index: str, condition: str, value: dict[str, str], **options: Any) -> list[str]:
        answer = client.query(
            TableName=name, IndexName=index, KeyConditionExpression=condition,
            ExpressionAttributeValues={":v": value}, **options,
        )  # fmt: skip
        return [item["pk"]["S"] for item in answer["Items"]]

    assert pks("by-event", "event = :v", {"S": "e1"}) == ["R4", "R3", "R2"]
    assert pks("by-event", "event = :v", {"S": "e1"}, ScanIndexForward=False) == ["R2", "R3", "R4"]
    assert pks("by-event", "event = :v", {"S": "e1"}, Limit=2) == ["R4", "R3"]
    assert pks("by-event", "event = :v", {"S": "e9"}) == []
    assert pks("by-day", "#d = :v", {"N": "1"}, ExpressionAttributeNames={"#d": "day"}) == ["R2", "R3"]


def test_a_projection_answers_the_attributes_it_names_as_they_are_stored(table: tuple[DynamoDBClient, str]) -> None:
    client, name = table
    minutes = [str(m) for m in range(500)]
    stored: dict[str, Any] = {
        "name": {"S": "Ana"},
        "minutes": {"NS": minutes},
        "codes": {"L": [{"M": {"hash": {"S": "h1"}, "at": {"N": "1.50"}}}]},
        "flag": {"BOOL": False},
        "blob": {"B": b"\x00\x01"},
        "address": {"M": {"city": {"S": "Austin"}, "zip": {"S": "78701"}}},
    }
    client.put_item(TableName=name, Item=key("P") | stored)

    def projected(expression: str, names: dict[str, str]) -> dict[str, Any]:
        answer = client.get_item(
            TableName=name, Key=key("P"), ProjectionExpression=expression, ExpressionAttributeNames=names
        )
        return dict(answer.get("Item", {}))

    # Top-level names (the attendee read's kind): each as stored, a name the item lacks left out
    got = projected("#a, #b, #c, #d, #e", {"#a": "name", "#b": "codes", "#c": "flag", "#d": "blob", "#e": "absent"})
    assert got == {k: stored[k] for k in ("name", "codes", "flag", "blob")}, got
    assert sorted(projected("#m", {"#m": "minutes"})["minutes"]["NS"], key=int) == minutes
    # A nested path is still moto's own
    assert projected("#a.#c", {"#a": "address", "#c": "city"}) == {"address": {"M": {"city": {"S": "Austin"}}}}


def test_a_browser_s_preflight_to_the_local_aws_endpoint_is_allowed(aws: boto3.session.Session) -> None:
    # The organiser page calls Cognito from the browser: its preflight must pass, whatever moto's release does
    endpoint = aws.client("cognito-idp").meta.endpoint_url
    asked = {
        "Origin": "http://127.0.0.1:8000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target",
    }
    answer = requests.options(endpoint, headers=asked, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type,x-amz-target"

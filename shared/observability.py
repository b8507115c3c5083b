"""One Logger, Tracer and Metrics for every function; their settings come from the template's Globals."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

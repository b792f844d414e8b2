import pytest

from payments.devgateway import start_localstripe
from payments.gateway import GatewayClient


@pytest.fixture(scope="session")
def localstripe():
    server = start_localstripe()
    yield server
    server.stop()


@pytest.fixture
def gateway(localstripe):
    localstripe.flush()
    return GatewayClient(localstripe.url, "sk_test_ocopkit")

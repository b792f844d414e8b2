import pytest

from payments.gateway import GatewayClient


@pytest.fixture
def gateway(localstripe):
    localstripe.flush()
    return GatewayClient(localstripe.url, "sk_test_ocopkit")

from tests.library.conftest import ada, bob, make_reader, smtp_server  # noqa: F401 - shared reader fixtures

# STAND-IN for what nixpkgs' test driver prepends to a test script before its type
# check (nixos/lib/test-script-prepend.py, then one `NAME: Machine;` line per
# machine): the same imports, whose names a test script must not import again
# differently (`from typing import Protocol` fails against the typing_extensions one),
# and the driver's globals. nixos-tests/lint.sh type-checks the scripts with this in
# front, with the driver's mypy flags.
from test_driver.driver import Driver
from test_driver.vlan import VLan
from test_driver.machine import Machine
from test_driver.logger import Logger
from typing import Callable, Iterator, ContextManager, Optional, List, Dict, Any, Union
from typing_extensions import Protocol
from pathlib import Path

start_all: Callable[[], None]
subtest: Callable[[str], ContextManager[None]]
machines: List[Machine]
vlans: List[VLan]
driver: Driver
log: Logger

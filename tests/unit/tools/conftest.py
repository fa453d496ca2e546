"""The developer tools' packages (tools/benchkit, tools/interop_support) import as the tools import them."""

import os
import sys

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

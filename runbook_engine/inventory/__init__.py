"""Inventories: YAML, INI, scripts and host lists; group_vars/host_vars; host patterns.

```python
inventory = load_inventory(["inventories/example.yml"], extra_var_dirs=[playbook_dir])
inventory.select("webservers:!web3", limit=None)   # -> ["web1", "web2"]
inventory.host_vars("web1")                          # merged, cached
inventory.groups                                     # the `groups` magic variable
```
"""

from runbook_engine.inventory.data import ALL, UNGROUPED, Group, Host
from runbook_engine.inventory.inventory import Inventory
from runbook_engine.inventory.sources import load_inventory

__all__ = ["ALL", "UNGROUPED", "Group", "Host", "Inventory", "load_inventory"]

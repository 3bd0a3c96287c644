"""runbook-engine: agentless maintenance automation in Ansible's playbook dialect."""

__version__ = "0.1.0"

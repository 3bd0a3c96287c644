"""Event sinks: console, JSON, JUnit (and later the run journal, notifications)."""

"""The demo: a seeded, realistic multi-cloud day with one attack woven in, in native log formats.

`generate()` writes the raw logs; the bundled rules in `content/rules/` are written to catch the
attack it contains (and nothing in its benign background). See docs/demo.md for the story.
"""

from lanner.demo.scenario import Scenario, Stage, event_key, generate

__all__ = ["Scenario", "Stage", "event_key", "generate"]

"""The feature fixtures are run by ``test_feature_fixtures.py``, once per engine, not claim by
claim by bpcheck's pytest plugin (their ``$schema`` would have it collect some 6,500 items)."""

collect_ignore_glob = ["*.json"]

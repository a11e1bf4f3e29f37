"""The ``policyqa eval`` harness: datasets in the format of ../shared/eval/README.md."""

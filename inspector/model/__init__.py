"""The model: the cluster as our own frozen values, and the vocabularies the inspector speaks in.

Pure and at the bottom of the tiers: the snapshot dataclasses and the one builder that turns the
API's JSON into them (`snapshot`), label selectors and the pod index (`selectors`), the names the
API accepts (`names`), and the catalogue of finding codes, severities and messages (`findings`).
Everything else reads these values; nothing here knows how they were fetched or how they are shown.
"""

"""`doctor --probe`: read-only checks of every vendor field and id relation the adapters rely on.

The adapters, the sandbox and the test fakes were written from one reading of
the vendors' docs; only the live tenant can say whether that reading holds.
Each vendor module here reads a small sample of the records its adapter uses
and returns one :class:`~interview_sync.doctor.Check` per relied-on fact
("application.stage_id is the id of the current application_stages row"),
saying what matched and, where it did not, the fix.

Vendor modules expose ``probe(adapter, *, sample: int) -> list[Check]``.
"""

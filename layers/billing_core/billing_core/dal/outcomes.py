"""The typed outcomes of the data-access operations: what a write that did not apply means for
the caller, named for the domain (never a position in a transaction)."""


class LostRace(Exception):
    """What the operation was conditioned on changed since it was read (another request locked,
    adjusted, charged, refreshed or re-assigned it meanwhile): read again and decide again.
    `contract`: when only the contract had changed, the contract as it now is (DynamoDB hands it
    back with the failure), so the caller decides again without reading anything."""

    def __init__(self, contract=None):
        super().__init__("lost a race")
        self.contract = contract


class StaleProfile(LostRace):
    """The profile version the write priced with is no longer the profile's latest: refresh the
    contract to the latest version, then price again."""


class StepMoved(LostRace):
    """The job's (or keyed run's) step was not the one read: another run of it went on meanwhile."""


class AlreadyExists(Exception):
    """The item to create exists already (a profile id taken, a contract created meanwhile)."""

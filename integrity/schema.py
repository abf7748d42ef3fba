"""The complete schema: importing every package's models registers them on the metadata."""

from sqlalchemy import MetaData

from integrity.db import Base


def metadata() -> MetaData:
    import integrity.audit  # noqa: F401
    import integrity.cases.person_models  # noqa: F401
    import integrity.cases.protection_models  # noqa: F401
    import integrity.dashboard.kept  # noqa: F401
    import integrity.dashboard.report_builds  # noqa: F401
    import integrity.dashboard.summary_store  # noqa: F401
    import integrity.models  # noqa: F401
    import integrity.notifications.models  # noqa: F401
    import integrity.reporting.models  # noqa: F401
    import integrity.scheduler  # noqa: F401
    import surveys.models  # noqa: F401

    return Base.metadata

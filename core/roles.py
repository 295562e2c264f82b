"""The roles of ARCHITECTURE.md and the sets of them that the rules name, defined once."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OPERATOR = "operator", "Operator"
    QA_LEAD = "qa_lead", "QA lead"
    ANNOTATOR = "annotator", "Annotator"
    CLIENT_ADMIN = "client_admin", "Client admin"
    CLIENT_VIEWER = "client_viewer", "Client viewer"


VENDOR_ROLES = frozenset({Role.OPERATOR, Role.QA_LEAD, Role.ANNOTATOR})
CLIENT_ROLES = frozenset({Role.CLIENT_ADMIN, Role.CLIENT_VIEWER})
EVERYONE = VENDOR_ROLES | CLIENT_ROLES
OPERATORS = frozenset({Role.OPERATOR})
# The client's own people and the operators: exports, usage, statements, imports.
CLIENT_SIDE = frozenset({Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER})
# Who reads a project's data and quality figures: the client side and the QA leads.
# Annotators see items through the queue and their own figures only.
PROJECT_READERS = CLIENT_SIDE | {Role.QA_LEAD}
# Who starts the client's jobs (imports, exports, training): operators and the client's admins.
CLIENT_MANAGERS = frozenset({Role.OPERATOR, Role.CLIENT_ADMIN})
# The vendor's own review work: its QA leads and operators.
REVIEWERS = frozenset({Role.OPERATOR, Role.QA_LEAD})
# Who may be assigned to label a project (an operator is not, unless made one).
LABELERS = frozenset({Role.ANNOTATOR, Role.QA_LEAD})
# Anyone signed in, with a membership or (an account being set up) without one.
ANY = EVERYONE | {None}

"""What crosses the bus: the names here (services, events, the credential's context key), the payload
schemas, the wire errors and the award codes. Anyone may import it; it imports nothing else of tdkt.

The names themselves are this package's own attributes (``contract.REVIEW``); contract.md binds them."""

INTAKE = "intake"
REVIEW = "review"
NOTIFY = "notify"
COUNCIL = "council"  # members' clients dispatch as this source service

# events dispatched by intake
NOMINATION_SUBMITTED = "nomination_submitted"
NOMINATION_AMENDED = "nomination_amended"
NOMINATION_WITHDRAWN = "nomination_withdrawn"
# the award register (intake owns it; issue #17)
NOMINATION_AWARDED = "nomination_awarded"  # the head's decision turned an approval into an award
NOMINATION_NOT_AWARDED = "nomination_not_awarded"  # a proposal the central level did not award
REGISTER_ENTRY_RECORDED = "register_entry_recorded"  # an award entered (decision or import)
REGISTER_ENTRY_REVOKED = "register_entry_revoked"  # Law Art. 93: cancelled, money to recover

# events dispatched by review
BALLOT_ISSUED = "ballot_issued"
SITTING_CLOSED = "sitting_closed"
NOMINATION_ADVANCED = "nomination_advanced"
NOMINATION_DECIDED = "nomination_decided"
NOMINATION_RETURNED = "nomination_returned"
VOTE_REJECTED = "vote_rejected"
VOTE_COUNTED = "vote_counted"  # who took part (never what they chose): notify stops reminding them
NOMINATION_ON_AGENDA = "nomination_on_agenda"  # one nomination's NOMINATIONS_ON_AGENDA (older reviews sent these)
NOMINATIONS_ON_AGENDA = "nominations_on_agenda"  # a council holds these revisions: intake closes amendments
AMENDMENT_REFUSED = "amendment_refused"  # an amendment arrived after the council took the dossier
PUBLIC_COMMENT_OPENED = "public_comment_opened"  # published for comment before its council (NĐ 98 Art. 46)
RECEIPTS_PUBLISHED = "receipts_published"  # a closed sitting's receipts counted, to its members, no names
SITTING_DOCUMENTS_READY = "sitting_documents_ready"  # a closed sitting's minutes, proposal, decision rendered
DIRECTORY_LOADED = "directory_loaded"  # the units' names after a directory load: mail speaks in names

# events dispatched by council members
VOTE_CAST = "vote_cast"

AUTH_TOKEN = "auth_token"  # key in Nameko context data

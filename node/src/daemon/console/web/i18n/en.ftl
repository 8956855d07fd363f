# Liaison console — English.
# Keys are shared with ru.ftl; a unit test keeps both catalogues equal.

skip-to-content = Skip to content
language = Language
language-en = English
language-ru = Русский
language-apply = Apply
sign-out = Sign out
nav-label = Sections
nav-overview = Overview
nav-search = Search
nav-match = Match
nav-watchlist = Watchlist
nav-requests = Requests
nav-reports = Reports
nav-audit = Audit
nav-admin = Administration
nav-chart = Link chart
footer-times-utc = Times are UTC, by the node's clock.
role-analyst = analyst
role-supervisor = supervisor
role-auditor = auditor
role-admin = admin
roles = Roles
none = None.
actions = Actions
when = When
peer = Agency
user = User
state = State
owner = Owner
record = Record
handling = Handling
fingerprint = Key fingerprint
addresses = Addresses
connected = connected
disconnected = not connected
rtt = Round trip
from = From
to = To
filter = Filter
received = Received
released = Released
sent = Sent
answer = Answer
envelope = Envelope (SHA-256)
verification = Verification
verified = verified
not-verified = not verified
records-count = Records
redacted = Redacted
withheld = Withheld by policy
grading-title = Admiralty grading: source reliability and information credibility
back-to-overview = Back to the overview
back-to-requests = Back to the requests

error-status = The node answered { $status }.
error-detail = Detail:
error-not-found = Not found
error-forbidden = Not allowed for your roles
error-bad-request = The request could not be read
error-conflict = Conflict
error-too-large = Too large
error-too-many = Too many requests: wait a minute
error-failed = Something failed on the node

signin-title = Sign in
signin-intro = Sign in to the Liaison node { $node } with your account.
signin-name = Account name
signin-password = Password
signin-submit = Sign in
signin-failed = Wrong name or password, or the account is locked or disabled.
signin-throttled = Too many sign-ins for this name in the last minute: wait a minute.

overview-evidence = Evidence of a forked audit log
overview-fork = { $peer }: its audit log forked or rewound; evidence is held.
overview-evidence-count = { $count ->
    [one] { $count } piece of evidence of a peer's misbehaviour is held.
   *[other] { $count } pieces of evidence of peers' misbehaviour are held.
}
overview-records = Records held
overview-outbox = Outbox (waiting to be delivered)
overview-waiting = Requests waiting
overview-overdue = { $count ->
    [one] { $count } past its deadline
   *[other] { $count } past their deadline
}
overview-alerts = Alerts
overview-new-alerts = Latest alerts
overview-audit = Audit log
overview-entries = { $count ->
    [one] { $count } entry
   *[other] { $count } entries
}
overview-checkpoint = Last signed checkpoint:
overview-witness-stale = Not witnessed lately by: { $peers }
overview-witnesses-ok = Witnessed by every active peer.
overview-peers = Peers

search-intro = Look up our own records by any identifier written in any script: a phone, passport, plate, VIN, e-mail, or a person's name with a date of birth. The value is sent in the form, never in the address.
search-value = Identifier or name
search-dob = Date of birth (for a person)
search-submit = Search
search-results = { $count ->
    [one] { $count } record found
   *[other] { $count } records found
}
search-none = Nothing found under this identifier.
matched-on = Matched on
open-record = Open record
open-chart = Link chart
open-report = Open report
record-source = Source:
record-ingested = stored:

case-legend = Case
case-reference = Case reference
case-basis = Legal basis

match-intro = Ask every peer whether it holds the identifiers of your case. Peers learn nothing about what you ask; you learn hit or no hit, within your budget.
match-file-legend = A file
match-file = File (NDJSON, CSV or call records)
match-file-hint = UTF-8. A file replaces the typed rows below.
match-typed-legend = Or type identifiers
match-kind = Kind
match-value = Value
match-extra = Country or date of birth
match-typed-hint = For a passport give its country (KGZ, TJK...); for a person write the full name and give the date of birth.
match-peer = Peer
match-all-peers = Every peer
match-new = A new match
match-submit = Match
match-waiting = Waiting for the peers' answers…
match-need-case = A match needs a case reference and a legal basis.
match-result = Match { $id }
match-summary = { $entities ->
    [one] { $entities } entity
   *[other] { $entities } entities
}, { $hits ->
    [one] { $hits } with a hit
   *[other] { $hits } with hits
}
match-complete = every peer answered
match-incomplete = some peers did not answer in time
match-asked = Asked:
match-entity = Entity
match-source = From
match-peers = Hits at
no-hit = no hit
request-note = Note for the owner
request-record = Request the record

typed-phone = Phone
typed-passport = Passport
typed-person = Person
typed-plate = Plate
typed-vin = VIN
typed-email = E-mail

kind-person = person
kind-phone = phone
kind-document = document
kind-vehicle = vehicle
kind-organization = organisation
kind-account = account
kind-device = device
kind-email = e-mail
kind-other = other
kind-plate = plate
kind-vin = VIN
kind-imei = IMEI
kind-iban = IBAN
kind-registration = registration number
kind-person_full = person (full name, date of birth)
kind-person_name = person (name, date of birth)
kind-person_phonetic = person (sound-alike name)
kind-person_fuzzy = person (one letter apart)

field-summary = summary
field-country = country
field-created = created
field-surname = surname
field-given = given name
field-patronymic = patronymic
field-full_name = full name
field-dob = date of birth
field-nationality = nationality
field-number = number
field-doc_type = document type
field-plate = plate
field-vin = VIN
field-name = name
field-address = address
field-iban = IBAN
field-bank = bank
field-imei = IMEI
field-model = model
field-gender = sex
field-registration = registration number

rel-record = record
rel-call = call
rel-called = called
rel-uses = uses
rel-holds = holds
rel-drives = drives
rel-owns = owns
rel-member = member of
rel-employs = employs
rel-related = related to
rel-hit = hit
rel-strong = strong hit
rel-good = good hit
rel-fair = fair hit
rel-weak = weak hit
strength-strong = strong
strength-good = good
strength-fair = fair
strength-weak = weak: check before acting
strength-hit = hit

watch-intro = Standing identifiers: an alert is raised when a peer comes to hold one.
watch-weak = Also alert on weak person matches (one letter apart)
watch-submit = Watch
watch-added = { $count ->
    [one] { $count } identifier added.
   *[other] { $count } identifiers added.
}
watch-list = Watched
watch-since = Since
watch-remove = Stop watching

requests-incoming = Requests from peers
requests-outgoing = Our requests
requester = Requesting agency
decision-pending = waiting
decision-released = released
decision-refused = refused
decision-withdrawn = withdrawn
answer-sent = sent
answer-filed = filed, waiting for the owner
answer-refused = refused
answer-no_such_record = no such record
answer-withdrawn = withdrawn
answer-reported = report received
two-person = Two-person rule
two-person-waiting = one approval of two
two-person-approved-by = Approved by { $user }
two-person-second = A second supervisor, not the first, must approve before anything is released.
request-title = Request from { $peer }
age-hours = { $hours } h ago
weak-hit = Weak hit
weak-hit-note = The hit was on names one letter apart: right about half the time. Check before releasing.
release-records = Records that would be released
record-gone = Record { $id } is no longer held.
redact-legend = Redact from { $id }
redact-entity = the whole { $kind } { $entity }
approve = Approve and release
refuse = Refuse
refuse-reason = Reason (the requester reads it)

reports-deleted = Deleted when their owner withdrew them
report-title = Report from { $owner }
report-verified = The owner's signature, the sealing to us and the binding to our request all check out.
report-failed = This report does not verify: its content is not shown.
check-signature = signed by the owner's agency key
check-sealing = sealed to our node
check-binding = bound to our request and case
change-withdrawn = withdrawn by the owner
change-corrected = corrected by the owner
change-expired = expired

chart-needs-js = The link chart needs JavaScript; every other page works without it.
chart-expand = Expand selected
chart-relayout = Lay out again
chart-export-png = Export PNG
chart-export-svg = Export SVG
chart-label = Link chart of the selected records and their entities
chart-legend = Legend
chart-loading = Loading…
chart-nodes = nodes
chart-edges = links
chart-expand-hint = Double-click a node, or select it and press “Expand selected”, to add its other records.
chart-expanded = Added
chart-nothing = Nothing more to add.
chart-error = The chart could not be loaded.
chart-ours = our agency

export-anx = Export for i2 (ANX)
export-stix = Export STIX 2.1
export-selection-hint = Our records selected on the chart (all of ours when none is selected):
audit-witnesses = Witnesses
audit-verified = Verification
audit-verify = Verify the whole log now
audit-export = Export (NDJSON)
audit-kind = Kind
audit-action = Action
audit-under-case = under a case
audit-older = Older entries
audit-outcome = Outcome

admin-this-node = This node
node-name = Name
admin-peers = Trusted agencies
admin-peers-hint = Compare each fingerprint with the agency by phone before trusting it. Peers are added on the node's machine with `liaison peer add`.
admin-reload = Re-read the configuration
admin-reloaded = The configuration's peers were read again.
admin-users = Accounts
admin-add-user = Add an account
user-active = active
user-disabled = disabled
user-locked = locked
user-disable = Disable
user-enable = Enable

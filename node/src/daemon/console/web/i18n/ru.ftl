# Консоль Liaison — русский язык.
# Ключи общие с en.ftl; модульный тест следит, чтобы каталоги совпадали.

skip-to-content = Перейти к содержанию
language = Язык
language-en = English
language-ru = Русский
language-apply = Применить
sign-out = Выйти
nav-label = Разделы
nav-overview = Обзор
nav-search = Поиск
nav-match = Сверка
nav-watchlist = Наблюдение
nav-requests = Запросы
nav-reports = Сообщения
nav-audit = Аудит
nav-admin = Администрирование
nav-chart = Схема связей
footer-times-utc = Время указано в UTC по часам узла.
role-analyst = аналитик
role-supervisor = руководитель
role-auditor = аудитор
role-admin = администратор
roles = Роли
none = Нет.
actions = Действия
when = Когда
peer = Ведомство
user = Пользователь
state = Состояние
owner = Владелец
record = Запись
handling = Гриф
fingerprint = Отпечаток ключа
addresses = Адреса
connected = на связи
disconnected = нет связи
rtt = Задержка
from = С
to = По
filter = Отобрать
received = Получено
released = Передано
sent = Отправлено
answer = Ответ
envelope = Конверт (SHA-256)
verification = Проверка
verified = проверено
not-verified = не проверено
records-count = Записи
redacted = Скрыто
withheld = Не передаётся по политике
grading-title = Оценка по шкале Адмиралтейства: надёжность источника и достоверность сведений
back-to-overview = Вернуться к обзору
back-to-requests = Вернуться к запросам

error-status = Узел ответил { $status }.
error-detail = Подробности:
error-not-found = Не найдено
error-forbidden = Недоступно для ваших ролей
error-bad-request = Запрос не удалось прочитать
error-conflict = Конфликт
error-too-large = Слишком большой объём
error-too-many = Слишком много запросов: подождите минуту
error-failed = На узле произошёл сбой

signin-title = Вход
signin-intro = Войдите в узел Liaison { $node } под своей учётной записью.
signin-name = Имя учётной записи
signin-password = Пароль
signin-submit = Войти
signin-failed = Неверное имя или пароль, либо учётная запись заблокирована или отключена.
signin-throttled = Слишком много попыток входа под этим именем за минуту: подождите минуту.

overview-evidence = Признаки раздвоения журнала аудита
overview-fork = { $peer }: журнал аудита раздвоился или откатился; доказательства сохранены.
overview-evidence-count = { $count ->
    [one] Сохранено { $count } доказательство нарушений со стороны партнёров.
    [few] Сохранено { $count } доказательства нарушений со стороны партнёров.
   *[many] Сохранено { $count } доказательств нарушений со стороны партнёров.
}
overview-records = Записей в хранилище
overview-outbox = Исходящая очередь (ждёт доставки)
overview-waiting = Запросов ждёт решения
overview-overdue = { $count ->
    [one] { $count } просрочен
    [few] { $count } просрочено
   *[many] { $count } просрочено
}
overview-alerts = Оповещения
overview-new-alerts = Последние оповещения
overview-audit = Журнал аудита
overview-entries = { $count ->
    [one] { $count } запись
    [few] { $count } записи
   *[many] { $count } записей
}
overview-checkpoint = Последняя подписанная контрольная точка:
overview-witness-stale = Давно не заверяли: { $peers }
overview-witnesses-ok = Заверено всеми активными партнёрами.
overview-peers = Партнёры

search-intro = Поиск в собственных записях по любому идентификатору в любой письменности: телефон, паспорт, госномер, VIN, e-mail или ФИО с датой рождения. Значение передаётся в форме, а не в адресе страницы.
search-value = Идентификатор или ФИО
search-dob = Дата рождения (для лица)
search-submit = Найти
search-results = { $count ->
    [one] Найдена { $count } запись
    [few] Найдено { $count } записи
   *[many] Найдено { $count } записей
}
search-none = По этому идентификатору ничего не найдено.
matched-on = Совпадение по
open-record = Открыть запись
open-chart = Схема связей
open-report = Открыть сообщение
record-source = Источник:
record-ingested = сохранено:

case-legend = Дело
case-reference = Номер дела
case-basis = Правовое основание

match-intro = Спросите всех партнёров, известны ли им идентификаторы по вашему делу. Партнёры ничего не узнают о том, что вы спрашиваете; вы узнаёте только «есть совпадение» или «нет», в пределах лимита.
match-file-legend = Файл
match-file = Файл (NDJSON, CSV или детализация звонков)
match-file-hint = В кодировке UTF-8. Файл заменяет строки, введённые ниже.
match-typed-legend = Или введите идентификаторы
match-kind = Вид
match-value = Значение
match-extra = Страна или дата рождения
match-typed-hint = Для паспорта укажите страну (KGZ, TJK…); для лица введите ФИО полностью и дату рождения.
match-peer = Партнёр
match-all-peers = Все партнёры
match-new = Новая сверка
match-submit = Сверить
match-waiting = Ждём ответов партнёров…
match-need-case = Для сверки нужны номер дела и правовое основание.
match-result = Сверка { $id }
match-summary = { $entities ->
    [one] { $entities } объект
    [few] { $entities } объекта
   *[many] { $entities } объектов
}, с совпадениями: { $hits }
match-complete = ответили все партнёры
match-incomplete = часть партнёров не ответила вовремя
match-asked = Опрошены:
match-entity = Объект
match-source = Откуда
match-peers = Совпадения у
no-hit = нет совпадений
request-note = Примечание для владельца
request-record = Запросить запись

typed-phone = Телефон
typed-passport = Паспорт
typed-person = Лицо
typed-plate = Госномер
typed-vin = VIN
typed-email = E-mail

kind-person = лицо
kind-phone = телефон
kind-document = документ
kind-vehicle = транспортное средство
kind-organization = организация
kind-account = счёт
kind-device = устройство
kind-email = e-mail
kind-other = другое
kind-plate = госномер
kind-vin = VIN
kind-imei = IMEI
kind-iban = IBAN
kind-registration = регистрационный номер
kind-person_full = лицо (ФИО полностью, дата рождения)
kind-person_name = лицо (имя, дата рождения)
kind-person_phonetic = лицо (созвучное имя)
kind-person_fuzzy = лицо (отличие в одну букву)

field-summary = фабула
field-country = страна
field-created = создано
field-surname = фамилия
field-given = имя
field-patronymic = отчество
field-full_name = ФИО
field-dob = дата рождения
field-nationality = гражданство
field-number = номер
field-doc_type = вид документа
field-plate = госномер
field-vin = VIN
field-name = наименование
field-address = адрес
field-iban = IBAN
field-bank = банк
field-imei = IMEI
field-model = модель
field-gender = пол
field-registration = регистрационный номер

rel-record = запись
rel-call = звонок
rel-called = звонил
rel-uses = пользуется
rel-holds = владеет документом
rel-drives = управляет
rel-owns = владеет
rel-member = состоит в
rel-employs = нанимает
rel-related = связан с
rel-hit = совпадение
rel-strong = сильное совпадение
rel-good = хорошее совпадение
rel-fair = среднее совпадение
rel-weak = слабое совпадение
strength-strong = сильное
strength-good = хорошее
strength-fair = среднее
strength-weak = слабое: проверьте, прежде чем действовать
strength-hit = совпадение

watch-intro = Идентификаторы на постоянном наблюдении: оповещение приходит, когда такой появится у партнёра.
watch-weak = Оповещать и о слабых совпадениях лиц (отличие в одну букву)
watch-submit = Поставить на наблюдение
watch-added = { $count ->
    [one] Добавлен { $count } идентификатор.
    [few] Добавлено { $count } идентификатора.
   *[many] Добавлено { $count } идентификаторов.
}
watch-list = На наблюдении
watch-since = С какого времени
watch-remove = Снять с наблюдения

requests-incoming = Запросы партнёров
requests-outgoing = Наши запросы
requester = Запрашивающее ведомство
decision-pending = ждёт решения
decision-released = передано
decision-refused = отказано
decision-withdrawn = отозвано
answer-sent = отправлен
answer-filed = принят, ждёт владельца
answer-refused = отказано
answer-no_such_record = записи нет
answer-withdrawn = отозвано
answer-reported = сообщение получено
two-person = Правило двух лиц
two-person-waiting = одно согласие из двух
two-person-approved-by = Согласовал(а) { $user }
two-person-second = До передачи нужно согласие второго руководителя, не первого.
request-title = Запрос от { $peer }
age-hours = { $hours } ч назад
weak-hit = Слабое совпадение
weak-hit-note = Совпадение по именам, отличающимся одной буквой: верно примерно в половине случаев. Проверьте перед передачей.
release-records = Записи, которые будут переданы
record-gone = Записи { $id } больше нет.
redact-legend = Скрыть в { $id }
redact-entity = весь объект { $entity } ({ $kind })
approve = Согласовать и передать
refuse = Отказать
refuse-reason = Причина (её прочтёт запросивший)

reports-deleted = Удалены по отзыву владельца
report-title = Сообщение от { $owner }
report-verified = Подпись владельца, шифрование для нашего узла и привязка к нашему запросу проверены.
report-failed = Сообщение не прошло проверку: содержимое не показывается.
check-signature = подписано ключом ведомства-владельца
check-sealing = зашифровано для нашего узла
check-binding = привязано к нашему запросу и делу
change-withdrawn = отозвано владельцем
change-corrected = исправлено владельцем
change-expired = срок хранения истёк

chart-needs-js = Для схемы связей нужен JavaScript; остальные страницы работают и без него.
chart-expand = Раскрыть выбранное
chart-relayout = Перестроить
chart-export-png = Сохранить PNG
chart-export-svg = Сохранить SVG
chart-label = Схема связей выбранных записей и их объектов
chart-legend = Условные обозначения
chart-loading = Загрузка…
chart-nodes = узлов
chart-edges = связей
chart-expand-hint = Дважды щёлкните узел или выберите его и нажмите «Раскрыть выбранное», чтобы добавить другие его записи.
chart-expanded = Добавлено
chart-nothing = Добавить больше нечего.
chart-error = Схему не удалось загрузить.
chart-ours = наше ведомство

export-anx = Выгрузить для i2 (ANX)
export-stix = Выгрузить STIX 2.1
export-selection-hint = Наши записи, выбранные на схеме (все наши, если ничего не выбрано):
audit-witnesses = Заверители
audit-verified = Проверка
audit-verify = Проверить весь журнал сейчас
audit-export = Выгрузить (NDJSON)
audit-kind = Вид
audit-action = Действие
audit-under-case = по делу
audit-older = Более ранние записи
audit-outcome = Итог

admin-this-node = Этот узел
node-name = Имя
admin-peers = Доверенные ведомства
admin-peers-hint = Прежде чем доверять, сверьте каждый отпечаток с ведомством по телефону. Партнёры добавляются на машине узла командой `liaison peer add`.
admin-reload = Перечитать конфигурацию
admin-reloaded = Список партнёров из конфигурации перечитан.
admin-users = Учётные записи
admin-add-user = Добавить учётную запись
user-active = активна
user-disabled = отключена
user-locked = заблокирована
user-disable = Отключить
user-enable = Включить

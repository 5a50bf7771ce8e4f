# ariza bot — по-русски. Каждый ключ обязан быть и в uz/bot.ftl.

bot-unknown-user = Здравствуйте! Этот бот только для сотрудников провайдера. Вы не зарегистрированы как сотрудник — обратитесь к администратору.
bot-menu = Здравствуйте, { $name }! Ваша роль: { $role }.
    Какую заявку создаём? Нажмите кнопку внизу.
    /cancel — отмена, /lang — сменить язык.
bot-btn-new-connection = 🆕 Заявка на подключение
bot-btn-new-technical = 🛠 Заявка на техобслуживание
bot-search-how = Как найдём клиента?
bot-btn-by-phone = 📞 По телефону
bot-btn-by-name = 👤 По имени
bot-btn-by-id = 🔢 По ID
bot-btn-new-client = ➕ Новый клиент
bot-btn-cancel = ✖️ Отмена
bot-btn-back = ⬅️ Назад
bot-ask-search-phone = Введите телефон клиента или его часть:
bot-ask-search-name = Введите имя клиента или его часть:
bot-ask-search-id = Введите ID клиента:
bot-search-empty = Никого не нашли. Попробуйте иначе или добавьте нового клиента.
bot-search-results = Найдено: { $count }. Выберите клиента (страница { $page }/{ $pages }):
bot-btn-prev = ◀️ Назад
bot-btn-next = Дальше ▶️
bot-id-invalid = ID состоит только из цифр, например: 125.
bot-search-too-short = Для поиска введите хотя бы 2 буквы или 3 цифры.
bot-ask-client-name = Введите имя и фамилию нового клиента:
bot-ask-client-phone = Телефон клиента (например, +998 90 123 45 67):
bot-ask-client-address = Адрес клиента:
bot-phone-exists = Клиент с этим номером уже есть: { $name }, { $address }. Создать заявку для него?
bot-btn-use-existing = ✅ Да, этот клиент
bot-btn-other-phone = ✏️ Ввести другой номер
bot-client-card = 👤 { $name }
    📞 { $phone }
    🏠 { $address }
    ID: { $id }
bot-client-new = новый клиент
bot-confirm-client = Данные клиента верны? Если устарели — исправьте.
bot-btn-client-ok = ✅ Верно, дальше
bot-btn-edit-name = ✏️ Имя
bot-btn-edit-phone = ✏️ Телефон
bot-btn-edit-address = ✏️ Адрес
bot-choose-kind = Выберите вид заявки:
bot-ask-address = Введите адрес работ или выберите адрес клиента:
bot-btn-client-address = 🏠 { $address }
bot-ask-tariff = Выберите тариф:
bot-ask-tariff-text = Введите тариф:
bot-ask-problem = Опишите проблему:
bot-ask-comment = Напишите комментарий (необязательно):
bot-btn-skip = ⏭ Пропустить
bot-preview = 📋 Заявка: { $kind }
    👤 Клиент: { $client }, { $phone }
    🏠 Адрес: { $address }
bot-preview-tariff = 📶 Тариф: { $value }
bot-preview-problem = ❗ Проблема: { $value }
bot-preview-comment = 💬 Комментарий: { $value }
bot-btn-confirm = ✅ Подтвердить и отправить
bot-btn-edit-form-address = ✏️ Адрес
bot-btn-edit-form-tariff = ✏️ Тариф
bot-btn-edit-form-problem = ✏️ Проблема
bot-btn-edit-form-comment = ✏️ Комментарий
bot-btn-edit-client = 👤 Изменить клиента
bot-sent = ✅ Заявка отправлена. ID: { $id }
    Сообщим, когда она будет зарегистрирована.
bot-publish-failed = ⚠️ Сейчас не удалось отправить заявку: сервис очередей не отвечает. Черновик сохранён — повторите чуть позже.
bot-btn-retry = 🔁 Отправить ещё раз
bot-cancelled = Отменено.
bot-stale-button = Эта кнопка устарела.
bot-expected-text = Пожалуйста, ответьте текстом.
bot-use-buttons = Пожалуйста, пользуйтесь кнопками.
bot-state-reset = Извините, бот обновился, и прежний диалог продолжить нельзя. Начнём заново.
bot-language-switched = Язык изменён: русский.
bot-staff-added = Сотрудник добавлен: { $telegram_id }, { $role }, язык: { $lang }.
bot-addstaff-usage = Использование: /addstaff <telegram_id> <роль> <uz|ru> [имя]
bot-admin-only = Эта команда только для администраторов.
bot-error-try-again = Что-то пошло не так, попробуйте ещё раз. Введённое сохранено.

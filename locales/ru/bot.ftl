# ariza bot — по-русски. Каждый ключ обязан быть и в uz/bot.ftl.

bot-menu = Здравствуйте, { $name }! Ваша роль: { $role }.
    Выберите нужное в меню внизу.
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
bot-btn-prev = ◀️ Предыдущие
bot-btn-next = Следующие ▶️
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

## Работа с заявками (участники и клиенты)

bot-client-btn-new-connection = 🆕 Заявка на подключение
bot-client-btn-new-technical = 🛠 Вызвать техника
bot-client-btn-my-applications = 📋 Мои заявки
bot-client-menu = Здравствуйте, { $name }! Здесь можно оставить заявку на подключение или техобслуживание и следить за её статусом.
    /cancel — отмена, /lang — сменить язык.
bot-btn-waiting = 📥 Ожидающие заявки
bot-btn-my-work = 🔧 Мои работы
bot-btn-find-app = 🔎 Заявка по номеру
bot-act-assign = 👷 Назначить техника
bot-act-start = ▶️ Начать работу
bot-act-wait-equipment = 📦 Ждём оборудование
bot-act-resume = 🔧 Продолжить работу
bot-act-complete = ✅ Выполнено
bot-act-cancel = 🚫 Отменить
bot-act-withdraw = 🚫 Отменить заявку
bot-act-rate = ⭐ Оценить
bot-apps-waiting = 📥 Заявки, ждущие вас: { $count } (страница { $page }/{ $pages }), сначала новые.
bot-apps-my-work = 🔧 Назначенные вам работы: { $count } (страница { $page }/{ $pages }).
bot-apps-mine = 📋 Ваши заявки: { $count } (страница { $page }/{ $pages }).
bot-apps-empty = Пока ничего нет.
bot-app-line = №{ $number } · { $kind } · { $state }
    👤 { $client } · 🏠 { $address }
    { $origin } · { $created }
bot-app-by-staff = ✍️ создал(а): { $name } ({ $role }) для клиента
bot-app-by-client = ✍️ создана самим клиентом
bot-app-card = 📋 Заявка №{ $number }: { $kind }
    Статус: { $state }
    👤 Клиент: { $client }, { $phone }
    🏠 Адрес: { $address }
    { $origin }, { $created }
bot-app-tariff = 📶 Тариф: { $value }
bot-app-problem = ❗ Проблема: { $value }
bot-app-comment = 💬 Комментарий: { $value }
bot-app-assignee = 👷 Техник: { $value }
bot-app-report = 📝 Что сделано: { $value }
bot-app-cancel-reason = 🚫 Причина отмены: { $value }
bot-app-rating = ⭐ Оценка: { $rating }/5 { $comment }
bot-btn-refresh = 🔄 Обновить
bot-btn-stars = ⭐ { $n }
bot-ask-app-number = Введите номер заявки (например, 125):
bot-app-number-invalid = Номер заявки состоит только из цифр, например: 125.
bot-app-not-found = Заявка №{ $number } не найдена.
bot-app-changed = ℹ️ Заявка №{ $number } изменилась после того, как вы её открыли: сейчас { $state }. Ничего не изменено — посмотрите новое состояние.
bot-pick-technician = Выберите техника для заявки №{ $number } (в скобках — число его открытых работ):
bot-technician-load = { $name } ({ $open })
bot-no-technicians = Нет активных техников. Обратитесь к администратору.
bot-ask-reason = Напишите причину отмены заявки №{ $number }:
bot-ask-report = Кратко опишите, что сделано по заявке №{ $number }:
bot-ask-withdraw-reason = Вы отменяете заявку №{ $number }. Напишите причину или пропустите:
bot-ask-rating-comment = Ваша оценка: { $rating } ⭐. Оставьте комментарий или пропустите:
bot-action-sent = ⏳ «{ $action }» — заявка №{ $number }: запрос отправлен. Сообщим, когда будет выполнено.
bot-action-failed = ⚠️ «{ $action }» (заявка №{ $number }) сейчас не отправлено: сервис очередей не отвечает. Ничего не потеряно — отправьте ещё раз.
bot-not-for-role = Этот раздел не для вашей роли.

## Регистрация клиента

bot-register-welcome = Здравствуйте! Это бот интернет-провайдера. Зарегистрируйтесь — и сможете оставлять заявки на подключение или техобслуживание и следить за ними здесь.
    Если вы сотрудник провайдера, сообщите администратору ваш Telegram ID: { $id }.
bot-register-ask-name = Напишите ваши имя и фамилию:
bot-register-ask-phone = Отправьте ваш номер телефона: нажмите кнопку «📱 Отправить номер» внизу.
bot-btn-share-contact = 📱 Отправить номер
bot-register-use-contact = Не вводите номер вручную — нажмите кнопку «📱 Отправить номер» внизу. Так мы убедимся, что номер ваш.
bot-register-not-own-contact = Это чужой контакт. Пожалуйста, отправьте свой номер кнопкой.
bot-register-phone-linked = Этот номер привязан к другому аккаунту Telegram. Позвоните провайдеру.
bot-register-ask-address = Напишите ваш адрес (город, улица, дом, квартира):
bot-register-confirm = 👤 { $name }
    📞 { $phone }
    🏠 { $address }
bot-register-found = У провайдера уже есть ваша запись. Это вы?
bot-btn-register = ✅ Зарегистрироваться
bot-btn-its-me = ✅ Да, это я
bot-register-sent = ⏳ Запрос на регистрацию отправлен. Сообщим, когда всё будет готово.
bot-register-pending = ⏳ Ваша регистрация обрабатывается. Немного подождите — мы сообщим, когда всё будет готово. Если вам пришёл отказ, отправьте /cancel и начните заново.
bot-register-failed = ⚠️ Сейчас не удалось отправить: сервис не отвечает. Данные сохранены — отправьте ещё раз.

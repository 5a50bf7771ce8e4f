# ariza — русские тексты. Каждый ключ обязан быть и в uz/main.ftl.

## Роли, виды, состояния
role-manager = менеджер
role-junior-manager = младший менеджер
role-controller = контролёр
role-call-centre-operator = оператор колл-центра
role-technician = техник
role-administrator = администратор
role-client = клиент

kind-connection = заявка на подключение
kind-technical = заявка на техобслуживание

state-new = новая
state-awaiting-manager = ждёт менеджера
state-awaiting-controller = ждёт контролёра
state-assigned = назначена технику
state-in-progress = в работе
state-waiting-equipment = ждёт оборудования
state-completed = выполнена
state-rated = оценена
state-cancelled = отменена


## Ошибки
error-permission-create = Ваша роль ({ $role ->
    [junior_manager] младший менеджер
    [technician] техник
    [administrator] администратор
   *[other] { $role }
}) не может создавать заявки { $kind ->
    [connection] на подключение
   *[technical] на техобслуживание
}.
error-permission-transition = Ваша роль не может выполнить это действие.
error-unknown-staff = Вы не зарегистрированы как сотрудник. Обратитесь к администратору.
error-inactive-staff = Ваша учётная запись неактивна. Обратитесь к администратору.
error-role-mismatch = Роль в запросе не совпадает с вашей настоящей ролью.
error-client-not-found = Клиент (ID { $client_id }) не найден.
error-client-not-linked = Этот клиент не привязан к вашему аккаунту Telegram.
error-phone-taken = Этот номер телефона принадлежит другому клиенту.
error-field-unexpected = В заявке этого вида нет такого поля.
error-transition-illegal = Это действие невозможно в текущем состоянии заявки.
error-application-not-found = Заявка не найдена.
error-bad-assignee = Выбранный сотрудник не является активным техником.
error-transition-stale = Заявка уже изменилась: сейчас она { $state ->
    [new] новая
    [awaiting_manager] ждёт менеджера
    [awaiting_controller] ждёт контролёра
    [assigned] назначена технику
    [in_progress] в работе
    [waiting_equipment] ждёт оборудования
    [completed] выполнена
    [rated] оценена
   *[cancelled] отменена
}. Ничего не изменено.
error-transition-not-yours = Эта заявка не ваша.
error-unknown-client = Вы не зарегистрированы как клиент. Отправьте /start.
error-rating-range = Оценка — от 1 до 5.
error-reason-empty = Укажите причину.
error-reason-too-long = Причина слишком длинная (не больше { $max } символов).
error-report-empty = Кратко опишите выполненную работу.
error-report-too-long = Отчёт слишком длинный (не больше { $max } символов).
error-phone-empty = Введите номер телефона.
error-phone-invalid = Неверный номер телефона. Пример: +998 90 123 45 67.
error-name-empty = Введите имя и фамилию.
error-name-too-long = Имя слишком длинное (не более { $max } символов).
error-address-empty = Адрес не может быть пустым.
error-address-too-long = Адрес слишком длинный (не более { $max } символов).
error-tariff-empty = Укажите тариф.
error-tariff-too-long = Название тарифа слишком длинное (не более { $max } символов).
error-problem-empty = Опишите проблему.
error-problem-too-long = Описание проблемы слишком длинное (не более { $max } символов).
error-comment-empty = Комментарий пуст.
error-comment-too-long = Комментарий слишком длинный (не более { $max } символов).

## Сообщения конвейера
app-created-rejected = ❌ Заявка не создана: { $reason }
dead-letters-count = { $count ->
    [one] { $count } мёртвое сообщение
    [few] { $count } мёртвых сообщения
   *[many] { $count } мёртвых сообщений
}

# Creation-activity alerts, sent to administrators. Phone numbers arrive masked.
alert-staff-burst = ⚠️ Необычная активность (оповещение №{ $alert_id }): сотрудник { $staff_name } ({ $role }) создал { $count } { $count ->
    [one] заявку
    [few] заявки
   *[many] заявок
} за { $minutes } мин. (порог: { $max }). Проверьте в консоли.
alert-client-phone-burst = ⚠️ Необычная активность (оповещение №{ $alert_id }): для клиента { $client_name } (тел. { $phone }) создано { $count } { $count ->
    [one] заявка
    [few] заявки
   *[many] заявок
} за { $minutes } мин. (порог: { $max }). Проверьте в консоли.

staff-created-for-client = Создана сотрудником для клиента
client-created-self = Создана самим клиентом
no-comment = без комментария

## Уведомления рабочего процесса
wf-route-client = ✅ Ваша заявка { $kind ->
    [connection] на подключение
   *[technical] на техобслуживание
} №{ $number } принята.{ $staff_created ->
    [yes] { " " }Её создал для вас наш сотрудник.
   *[no] {""}
} Адрес: { $address }.
wf-route-creator = ✅ Заявка { $kind ->
    [connection] на подключение
   *[technical] на техобслуживание
} №{ $number }, созданная вами для клиента { $client_name }, зарегистрирована и передана { $kind ->
    [connection] менеджерам
   *[technical] контролёрам
}.
wf-route-participant = 🆕 Новая заявка { $kind ->
    [connection] на подключение
   *[technical] на техобслуживание
} №{ $number }: клиент { $client_name }, адрес: { $address }. { $staff_created ->
    [yes] Создана сотрудником ({ $creator_role }) для клиента.
   *[no] Создана самим клиентом.
}
wf-assign-client = 👷 Ваша заявка №{ $number } назначена технику.{ $staff_created ->
    [yes] { " " }Заявку создал для вас наш сотрудник.
   *[no] {""}
}
wf-assign-creator = 👷 Заявка №{ $number } для клиента { $client_name } назначена технику.
wf-assign-participant = 👷 Вам назначена заявка №{ $number }: клиент { $client_name }, адрес: { $address }.{ $staff_created ->
    [yes] { " " }Создана сотрудником для клиента.
   *[no] {""}
}
wf-start-client = 🔧 По вашей заявке №{ $number } начаты работы.
wf-start-creator = 🔧 По заявке №{ $number } ({ $client_name }) начаты работы.
wf-wait-equipment-client = 📦 Для вашей заявки №{ $number } ожидается оборудование.
wf-wait-equipment-creator = 📦 Заявка №{ $number } ({ $client_name }) ждёт оборудования.
wf-resume-client = 🔧 Работы по вашей заявке №{ $number } продолжаются.
wf-resume-creator = 🔧 По заявке №{ $number } ({ $client_name }) работы продолжаются: оборудование получено.
wf-complete-client = 🎉 Ваша заявка №{ $number }{ $staff_created ->
    [yes] , созданная для вас нашим сотрудником,
   *[no] {""}
} выполнена. Пожалуйста, оцените работу.
wf-complete-creator = 🎉 Заявка №{ $number } ({ $client_name }) выполнена.
wf-rate-creator = ⭐ Клиент оценил заявку №{ $number } на { $rating }.
wf-rate-participant = ⭐ Клиент оценил выполненную вами заявку №{ $number } на { $rating }.
wf-cancel-client = 🚫 Ваша заявка №{ $number } отменена. Причина: { $comment }
wf-cancel-creator = 🚫 Заявка №{ $number } ({ $client_name }) отменена. Причина: { $comment }
wf-cancel-participant = 🚫 Назначенная вам заявка №{ $number } отменена.
wf-withdraw-creator = 🚫 Клиент { $client_name } отменил заявку №{ $number }.
wf-withdraw-participant = 🚫 Клиент отменил заявку №{ $number }.
wf-assign-previous = ↪️ Заявка №{ $number } ({ $client_name }) передана другому технику.
wf-applied-actor = ✅ Принято: { $action }, заявка №{ $number }. Состояние заявки: { $state }.
wf-refused = ⛔ Действие «{ $action }» по заявке №{ $number } не выполнено. { $reason }
wf-refused-unknown = ⛔ Действие «{ $action }» не выполнено. { $reason }
wf-btn-open = 📂 Открыть заявку
wf-btn-rate = ⭐ { $score }
wf-action-route = передача в работу
wf-action-assign = назначение техника
wf-action-start = начало работ
wf-action-wait-equipment = ожидание оборудования
wf-action-resume = возобновление работ
wf-action-complete = завершение работ
wf-action-rate = оценка
wf-action-cancel = отмена
wf-action-withdraw = отмена заявки

## Регистрация клиента
client-registered = 👋 { $name }, вы зарегистрированы. Здесь можно подать заявку на подключение или техобслуживание и следить за своими заявками.
client-linked = 👋 { $name }, мы нашли вашу учётную запись клиента и привязали к ней этот чат. Уведомления о ваших заявках будут приходить сюда.
client-registration-refused = ❌ Регистрация не выполнена: { $reason }
error-phone-linked-elsewhere = Этот номер телефона уже привязан к другому аккаунту Telegram. Обратитесь в колл-центр.
error-already-registered = Этот аккаунт Telegram уже привязан к другому клиенту.

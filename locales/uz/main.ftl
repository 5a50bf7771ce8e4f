# ariza — o'zbekcha matnlar. Har bir kalit ru/main.ftl da ham bo'lishi shart.

## Rollar, turlar, holatlar
role-manager = menejer
role-junior-manager = kichik menejer
role-controller = nazoratchi
role-call-centre-operator = call-markaz operatori
role-technician = texnik
role-administrator = administrator
role-client = mijoz

kind-connection = ulanish arizasi
kind-technical = texnik xizmat arizasi

state-new = yangi
state-awaiting-manager = menejerni kutmoqda
state-awaiting-controller = nazoratchini kutmoqda
state-assigned = texnikka biriktirilgan
state-in-progress = bajarilmoqda
state-waiting-equipment = uskunani kutmoqda
state-completed = bajarildi
state-rated = baholandi
state-cancelled = bekor qilindi


## Xatolar
error-permission-create = Sizning rolingiz ({ $role ->
    [junior_manager] kichik menejer
    [technician] texnik
    [administrator] administrator
   *[other] { $role }
}) { $kind ->
    [connection] ulanish
   *[technical] texnik xizmat
} arizasini yarata olmaydi.
error-permission-transition = Sizning rolingiz bu amalni bajara olmaydi.
error-unknown-staff = Siz xodim sifatida ro'yxatdan o'tmagansiz. Administratorga murojaat qiling.
error-inactive-staff = Hisobingiz faol emas. Administratorga murojaat qiling.
error-role-mismatch = So'rovdagi rol sizning haqiqiy rolingizga mos kelmaydi.
error-client-not-found = Mijoz (ID { $client_id }) topilmadi.
error-client-not-linked = Bu mijoz sizning Telegram hisobingizga bog'lanmagan.
error-phone-taken = Bu telefon raqami boshqa mijozga tegishli.
error-field-unexpected = Bu turdagi arizada bunday maydon yo'q.
error-transition-illegal = Bu amalni arizaning hozirgi holatida bajarib bo'lmaydi.
error-application-not-found = Ariza topilmadi.
error-bad-assignee = Tanlangan xodim faol texnik emas.
error-transition-stale = Ariza allaqachon o'zgargan: hozirgi holati — { $state ->
    [new] yangi
    [awaiting_manager] menejerni kutmoqda
    [awaiting_controller] nazoratchini kutmoqda
    [assigned] texnikka biriktirilgan
    [in_progress] bajarilmoqda
    [waiting_equipment] uskunani kutmoqda
    [completed] bajarildi
    [rated] baholandi
   *[cancelled] bekor qilindi
}. Hech narsa o'zgartirilmadi.
error-transition-not-yours = Bu ariza sizga tegishli emas.
error-unknown-client = Siz mijoz sifatida ro'yxatdan o'tmagansiz. /start buyrug'ini yuboring.
error-rating-range = Baho 1 dan 5 gacha bo'ladi.
error-reason-empty = Sababni yozing.
error-reason-too-long = Sabab juda uzun (ko'pi bilan { $max } belgi).
error-report-empty = Bajarilgan ishni qisqacha yozing.
error-report-too-long = Hisobot juda uzun (ko'pi bilan { $max } belgi).
error-phone-empty = Telefon raqamini kiriting.
error-phone-invalid = Telefon raqami noto'g'ri. Namuna: +998 90 123 45 67.
error-name-empty = Ism-familiyani kiriting.
error-name-too-long = Ism-familiya juda uzun (ko'pi bilan { $max } belgi).
error-address-empty = Manzil bo'sh bo'lishi mumkin emas.
error-address-too-long = Manzil juda uzun (ko'pi bilan { $max } belgi).
error-tariff-empty = Tarifni kiriting.
error-tariff-too-long = Tarif nomi juda uzun (ko'pi bilan { $max } belgi).
error-problem-empty = Muammoni tasvirlab bering.
error-problem-too-long = Muammo tavsifi juda uzun (ko'pi bilan { $max } belgi).
error-comment-empty = Izoh bo'sh.
error-comment-too-long = Izoh juda uzun (ko'pi bilan { $max } belgi).

## Quvur (pipeline) xabarlari
app-created-rejected = ❌ Ariza yaratilmadi: { $reason }
dead-letters-count = { $count ->
    [one] { $count } ta o'lik xabar
   *[other] { $count } ta o'lik xabar
}

# Creation-activity alerts, sent to administrators. Phone numbers arrive masked.
alert-staff-burst = ⚠️ G'ayrioddiy faollik (ogohlantirish №{ $alert_id }): xodim { $staff_name } ({ $role }) { $minutes } daqiqada { $count } ta ariza yaratdi (chegara: { $max }). Konsolda tekshiring.
alert-client-phone-burst = ⚠️ G'ayrioddiy faollik (ogohlantirish №{ $alert_id }): { $client_name } mijoz (tel. { $phone }) uchun { $minutes } daqiqada { $count } ta ariza yaratildi (chegara: { $max }). Konsolda tekshiring.

staff-created-for-client = Xodim tomonidan mijoz uchun yaratilgan
client-created-self = Mijozning o'zi yaratgan
no-comment = izohsiz

## Ish jarayoni bildirishnomalari
wf-route-client = ✅ Sizning { $kind ->
    [connection] ulanish
   *[technical] texnik xizmat
} arizangiz №{ $number } qabul qilindi.{ $staff_created ->
    [yes] { " " }Uni siz uchun xodimimiz yaratdi.
   *[no] {""}
} Manzil: { $address }.
wf-route-creator = ✅ { $client_name } uchun yaratgan { $kind ->
    [connection] ulanish
   *[technical] texnik xizmat
} arizangiz №{ $number } ro'yxatga olindi va { $kind ->
    [connection] menejerlarga
   *[technical] nazoratchilarga
} yuborildi.
wf-route-participant = 🆕 Yangi { $kind ->
    [connection] ulanish
   *[technical] texnik xizmat
} arizasi №{ $number }: mijoz { $client_name }, manzil: { $address }. { $staff_created ->
    [yes] Mijoz uchun xodim ({ $creator_role }) yaratgan.
   *[no] Mijozning o'zi yaratgan.
}
wf-assign-client = 👷 Arizangiz №{ $number } texnikka biriktirildi.{ $staff_created ->
    [yes] { " " }Arizani siz uchun xodimimiz yaratgan.
   *[no] {""}
}
wf-assign-creator = 👷 Mijoz { $client_name } uchun ariza №{ $number } texnikka biriktirildi.
wf-assign-participant = 👷 Sizga ariza №{ $number } biriktirildi: mijoz { $client_name }, manzil: { $address }.{ $staff_created ->
    [yes] { " " }Mijoz uchun xodim yaratgan.
   *[no] {""}
}
wf-start-client = 🔧 Arizangiz №{ $number } bo'yicha ish boshlandi.
wf-start-creator = 🔧 Ariza №{ $number } ({ $client_name }) bo'yicha ish boshlandi.
wf-wait-equipment-client = 📦 Arizangiz №{ $number } uchun uskuna kutilmoqda.
wf-wait-equipment-creator = 📦 Ariza №{ $number } ({ $client_name }) uskunani kutmoqda.
wf-resume-client = 🔧 Arizangiz №{ $number } bo'yicha ish davom etmoqda.
wf-resume-creator = 🔧 Ariza №{ $number } ({ $client_name }) bo'yicha ish davom etmoqda: uskuna keldi.
wf-complete-client = 🎉 { $staff_created ->
    [yes] Siz uchun xodimimiz yaratgan arizangiz
   *[no] Arizangiz
} №{ $number } bajarildi. Iltimos, ishni baholang.
wf-complete-creator = 🎉 Ariza №{ $number } ({ $client_name }) bajarildi.
wf-rate-creator = ⭐ Mijoz ariza №{ $number } ni { $rating } ballga baholadi.
wf-rate-participant = ⭐ Mijoz siz bajargan ariza №{ $number } ni { $rating } ballga baholadi.
wf-cancel-client = 🚫 Arizangiz №{ $number } bekor qilindi. Sabab: { $comment }
wf-cancel-creator = 🚫 Ariza №{ $number } ({ $client_name }) bekor qilindi. Sabab: { $comment }
wf-cancel-participant = 🚫 Sizga biriktirilgan ariza №{ $number } bekor qilindi.
wf-withdraw-creator = 🚫 Mijoz { $client_name } ariza №{ $number } ni bekor qildi.
wf-withdraw-participant = 🚫 Mijoz ariza №{ $number } ni bekor qildi.
wf-assign-previous = ↪️ Ariza №{ $number } ({ $client_name }) boshqa texnikka o'tkazildi.
wf-applied-actor = ✅ Qabul qilindi: { $action }, ariza №{ $number }. Ariza holati: { $state }.
wf-refused = ⛔ Ariza №{ $number } bo'yicha «{ $action }» amali bajarilmadi. { $reason }
wf-refused-unknown = ⛔ «{ $action }» amali bajarilmadi. { $reason }
wf-btn-open = 📂 Arizani ochish
wf-btn-rate = ⭐ { $score }
wf-action-route = ishga yuborish
wf-action-assign = texnik biriktirish
wf-action-start = ishni boshlash
wf-action-wait-equipment = uskunani kutish
wf-action-resume = ishni davom ettirish
wf-action-complete = ishni yakunlash
wf-action-rate = baholash
wf-action-cancel = bekor qilish
wf-action-withdraw = arizani bekor qilish

## Mijozni ro'yxatdan o'tkazish
client-registered = 👋 { $name }, siz ro'yxatdan o'tdingiz. Bu yerda ulanish yoki texnik xizmat arizasini berishingiz va arizalaringizni kuzatishingiz mumkin.
client-linked = 👋 { $name }, mijoz sifatidagi hisobingiz topildi va ushbu chatga bog'landi. Arizalaringiz haqidagi xabarlar shu yerga keladi.
client-registration-refused = ❌ Ro'yxatdan o'tish amalga oshmadi: { $reason }
error-phone-linked-elsewhere = Bu telefon raqami boshqa Telegram hisobiga bog'langan. Call-markazga murojaat qiling.
error-already-registered = Bu Telegram hisobi boshqa mijozga bog'langan.

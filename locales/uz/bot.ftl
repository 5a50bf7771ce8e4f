# ariza bot — o'zbekcha. Har bir kalit ru/bot.ftl da ham bo'lishi shart.

bot-unknown-user = Assalomu alaykum! Bu bot faqat provayder xodimlari uchun. Siz xodim sifatida ro'yxatdan o'tmagansiz — administratorga murojaat qiling.
bot-menu = Salom, { $name }! Rolingiz: { $role }.
    Qanday ariza yaratamiz? Pastdagi tugmani bosing.
    /cancel — bekor qilish, /lang — tilni almashtirish.
bot-btn-new-connection = 🆕 Ulanish arizasi
bot-btn-new-technical = 🛠 Texnik xizmat arizasi
bot-search-how = Mijozni qanday topamiz?
bot-btn-by-phone = 📞 Telefon bo'yicha
bot-btn-by-name = 👤 Ism bo'yicha
bot-btn-by-id = 🔢 ID bo'yicha
bot-btn-new-client = ➕ Yangi mijoz
bot-btn-cancel = ✖️ Bekor qilish
bot-btn-back = ⬅️ Orqaga
bot-ask-search-phone = Mijozning telefon raqamini yoki uning bir qismini kiriting:
bot-ask-search-name = Mijozning ismini yoki uning bir qismini kiriting:
bot-ask-search-id = Mijozning ID raqamini kiriting:
bot-search-empty = Hech kim topilmadi. Boshqacha qidirib ko'ring yoki yangi mijoz qo'shing.
bot-search-results = Topildi: { $count }. Mijozni tanlang (sahifa { $page }/{ $pages }):
bot-btn-prev = ◀️ Oldingi
bot-btn-next = Keyingi ▶️
bot-id-invalid = ID faqat raqamlardan iborat, masalan: 125.
bot-search-too-short = Qidirish uchun kamida 2 ta harf yoki 3 ta raqam kiriting.
bot-ask-client-name = Yangi mijozning ism-familiyasini kiriting:
bot-ask-client-phone = Mijozning telefon raqami (masalan, +998 90 123 45 67):
bot-ask-client-address = Mijozning manzili:
bot-phone-exists = Bu raqam bilan mijoz allaqachon bor: { $name }, { $address }. Shu mijoz uchun ariza yaratamizmi?
bot-btn-use-existing = ✅ Ha, shu mijoz
bot-btn-other-phone = ✏️ Boshqa raqam kiritish
bot-client-card = 👤 { $name }
    📞 { $phone }
    🏠 { $address }
    ID: { $id }
bot-client-new = yangi mijoz
bot-confirm-client = Mijoz ma'lumotlari to'g'rimi? Eskirgan bo'lsa, tuzating.
bot-btn-client-ok = ✅ To'g'ri, davom etish
bot-btn-edit-name = ✏️ Ism
bot-btn-edit-phone = ✏️ Telefon
bot-btn-edit-address = ✏️ Manzil
bot-choose-kind = Ariza turini tanlang:
bot-ask-address = Ish bajariladigan manzilni kiriting yoki mijoz manzilini tanlang:
bot-btn-client-address = 🏠 { $address }
bot-ask-tariff = Tarifni tanlang:
bot-ask-tariff-text = Tarifni kiriting:
bot-ask-problem = Muammoni tasvirlab bering:
bot-ask-comment = Izoh yozing (ixtiyoriy):
bot-btn-skip = ⏭ O'tkazib yuborish
bot-preview = 📋 Ariza: { $kind }
    👤 Mijoz: { $client }, { $phone }
    🏠 Manzil: { $address }
bot-preview-tariff = 📶 Tarif: { $value }
bot-preview-problem = ❗ Muammo: { $value }
bot-preview-comment = 💬 Izoh: { $value }
bot-btn-confirm = ✅ Tasdiqlash va yuborish
bot-btn-edit-form-address = ✏️ Manzil
bot-btn-edit-form-tariff = ✏️ Tarif
bot-btn-edit-form-problem = ✏️ Muammo
bot-btn-edit-form-comment = ✏️ Izoh
bot-btn-edit-client = 👤 Mijozni o'zgartirish
bot-sent = ✅ Ariza yuborildi. ID: { $id }
    Ariza ro'yxatga olingach, xabar beramiz.
bot-publish-failed = ⚠️ Arizani hozir yuborib bo'lmadi: navbat xizmati javob bermayapti. Qoralama saqlandi — birozdan so'ng qayta yuboring.
bot-btn-retry = 🔁 Qayta yuborish
bot-cancelled = Bekor qilindi.
bot-stale-button = Bu tugma eskirgan.
bot-expected-text = Iltimos, javobni matn bilan yuboring.
bot-use-buttons = Iltimos, tugmalardan foydalaning.
bot-state-reset = Kechirasiz, bot yangilandi va oldingi suhbatni davom ettirib bo'lmadi. Qaytadan boshlaymiz.
bot-language-switched = Til o'zgartirildi: o'zbekcha.
bot-staff-added = Xodim qo'shildi: { $telegram_id }, { $role }, til: { $lang }.
bot-addstaff-usage = Foydalanish: /addstaff <telegram_id> <rol> <uz|ru> [ism]
bot-admin-only = Bu buyruq faqat administratorlar uchun.
bot-error-try-again = Xatolik yuz berdi, iltimos, qayta urinib ko'ring. Kiritganlaringiz saqlangan.

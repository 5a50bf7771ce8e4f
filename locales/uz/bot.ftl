# ariza bot — o'zbekcha. Har bir kalit ru/bot.ftl da ham bo'lishi shart.

bot-menu = Salom, { $name }! Rolingiz: { $role }.
    Pastdagi menyudan kerakli bo'limni tanlang.
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

## Arizalar bilan ishlash (ishtirokchilar va mijozlar)

bot-client-btn-new-connection = 🆕 Ulanishga ariza
bot-client-btn-new-technical = 🛠 Texnik yordam so'rash
bot-client-btn-my-applications = 📋 Mening arizalarim
bot-client-menu = Salom, { $name }! Bu yerda ulanish yoki texnik yordam uchun ariza qoldirishingiz va arizalaringiz holatini kuzatishingiz mumkin.
    /cancel — bekor qilish, /lang — tilni almashtirish.
bot-btn-waiting = 📥 Kutayotgan arizalar
bot-btn-my-work = 🔧 Mening ishlarim
bot-btn-find-app = 🔎 Raqam bo'yicha ariza
bot-act-assign = 👷 Texnikka biriktirish
bot-act-start = ▶️ Ishni boshlash
bot-act-wait-equipment = 📦 Uskuna kutilmoqda
bot-act-resume = 🔧 Ishni davom ettirish
bot-act-complete = ✅ Bajarildi
bot-act-cancel = 🚫 Arizani bekor qilish
bot-act-withdraw = 🚫 Arizani bekor qilish
bot-act-rate = ⭐ Baholash
bot-apps-waiting = 📥 Sizni kutayotgan arizalar: { $count } (sahifa { $page }/{ $pages }), eng yangisi birinchi.
bot-apps-my-work = 🔧 Sizga biriktirilgan ishlar: { $count } (sahifa { $page }/{ $pages }).
bot-apps-mine = 📋 Arizalaringiz: { $count } (sahifa { $page }/{ $pages }).
bot-apps-empty = Hozircha hech narsa yo'q.
bot-app-line = №{ $number } · { $kind } · { $state }
    👤 { $client } · 🏠 { $address }
    { $origin } · { $created }
bot-app-by-staff = ✍️ yaratgan: { $name } ({ $role }), mijoz uchun
bot-app-by-client = ✍️ mijozning o'zi yaratgan
bot-app-card = 📋 Ariza №{ $number }: { $kind }
    Holati: { $state }
    👤 Mijoz: { $client }, { $phone }
    🏠 Manzil: { $address }
    { $origin }, { $created }
bot-app-tariff = 📶 Tarif: { $value }
bot-app-problem = ❗ Muammo: { $value }
bot-app-comment = 💬 Izoh: { $value }
bot-app-assignee = 👷 Texnik: { $value }
bot-app-report = 📝 Bajarilgan ish: { $value }
bot-app-cancel-reason = 🚫 Bekor qilish sababi: { $value }
bot-app-rating = ⭐ Baho: { $rating }/5 { $comment }
bot-btn-refresh = 🔄 Yangilash
bot-btn-stars = ⭐ { $n }
bot-ask-app-number = Ariza raqamini kiriting (masalan, 125):
bot-app-number-invalid = Ariza raqami faqat raqamlardan iborat, masalan: 125.
bot-app-not-found = №{ $number } raqamli ariza topilmadi.
bot-app-changed = ℹ️ Ariza №{ $number } siz ko'rganingizdan keyin o'zgardi: hozir { $state }. Hech narsa o'zgartirilmadi — yangi holatni ko'ring.
bot-pick-technician = Ariza №{ $number } uchun texnikni tanlang (qavs ichida — ochiq ishlari soni):
bot-technician-load = { $name } ({ $open })
bot-no-technicians = Faol texnik yo'q. Administratorga murojaat qiling.
bot-ask-reason = Ariza №{ $number } ni bekor qilish sababini yozing:
bot-ask-report = Ariza №{ $number } bo'yicha nima qilinganini qisqacha yozing:
bot-ask-withdraw-reason = Ariza №{ $number } ni bekor qilmoqchisiz. Sababini yozing yoki o'tkazib yuboring:
bot-ask-rating-comment = Bahoingiz: { $rating } ⭐. Izoh qoldiring yoki o'tkazib yuboring:
bot-action-sent = ⏳ «{ $action }» — ariza №{ $number }: so'rov yuborildi. Bajarilgach xabar beramiz.
bot-action-failed = ⚠️ «{ $action }» (ariza №{ $number }) hozir yuborilmadi: navbat xizmati javob bermayapti. Hech narsa yo'qolmadi — qayta yuboring.
bot-not-for-role = Bu bo'lim sizning rolingiz uchun emas.

## Mijozni ro'yxatdan o'tkazish

bot-register-welcome = Assalomu alaykum! Bu — internet provayderining boti. Ro'yxatdan o'ting: so'ng ulanish yoki texnik yordam uchun ariza qoldirib, uning holatini shu yerda kuzatasiz.
    Agar siz provayder xodimi bo'lsangiz, administratorga Telegram ID raqamingizni ayting: { $id }.
bot-register-ask-name = Ism-familiyangizni yozing:
bot-register-ask-phone = Telefon raqamingizni yuboring: pastdagi «📱 Raqamni yuborish» tugmasini bosing.
bot-btn-share-contact = 📱 Raqamni yuborish
bot-register-use-contact = Raqamni qo'lda yozmang — pastdagi «📱 Raqamni yuborish» tugmasini bosing. Shunda raqam sizniki ekanligini bilamiz.
bot-register-not-own-contact = Bu boshqa odamning kontakti. Iltimos, o'zingizning raqamingizni tugma orqali yuboring.
bot-register-phone-linked = Bu raqam boshqa Telegram hisobiga bog'langan. Provayderga qo'ng'iroq qiling.
bot-register-ask-address = Manzilingizni yozing (shahar, ko'cha, uy, xonadon):
bot-register-confirm = 👤 { $name }
    📞 { $phone }
    🏠 { $address }
bot-register-found = Provayderda sizning yozuvingiz bor. Bu sizmisiz?
bot-btn-register = ✅ Ro'yxatdan o'tish
bot-btn-its-me = ✅ Ha, bu men
bot-register-sent = ⏳ Ro'yxatdan o'tish so'rovi yuborildi. Tayyor bo'lgach, xabar beramiz.
bot-register-pending = ⏳ Ro'yxatdan o'tishingiz ko'rib chiqilmoqda. Bir oz kuting — tayyor bo'lgach, xabar beramiz. Rad etilgani haqida xabar olgan bo'lsangiz, /cancel yuborib, qaytadan boshlang.
bot-register-failed = ⚠️ Hozir yuborib bo'lmadi: xizmat javob bermayapti. Ma'lumotlaringiz saqlandi — qayta yuboring.

"""The concept danger model (risk.yaml concepts, masks, dampeners, combinations).

Each concept fires on words it was not written from, dampeners turn look-alikes harmless, crowd
sizes are read from numerals, dialect is understood, an animal bite is one consistent story, and
a category the reporter picks recomputes the risk.
"""

from __future__ import annotations

import threading

import pytest

from classifier import assess_risk, classify, default_classifier
from classifier.danger import count_value, people_counted

RED = [
    ("gas leak", "煤气罐漏气了，一屋子味道"),
    ("gas leak", "灶房头一股天然气的臭味，闻着头都昏"),
    ("gas leak, smell only", "屋里全是气味，怕是漏气了"),
    ("fire spreading", "烧荒的火快烧到林子了"),
    ("fire spreading", "有人烧田埂，火已经窜到坟山的松林里了"),
    ("house fire", "寨子头有家房子着火了"),
    ("mushroom poisoning", "一家人吃了菌子，三个都在吐，老的已经昏了"),
    ("banquet poisoning", "吃了喜酒回来全家拉肚子，头晕"),
    ("pesticide", "老奶奶误喝了敌敌畏"),
    ("electrocution", "我兄弟着电打了，倒在田埂上"),
    ("fallen wire", "高压线断下来搭在路边的树上，还在冒火花"),
    ("collapse", "老屋塌了，我爹还压在下面"),
    ("landslide", "后山滑坡，泥巴冲到屋后头了"),
    ("slope above houses", "屋后的坡开裂了，下面住着五户人家"),
    ("flood", "发大水了，河边那几家人被困在屋里"),
    ("dam seeping", "坝塘埂子在渗水，下面就是寨子"),
    ("drowning", "娃娃掉到水窖里了"),
    ("CO from charcoal", "关着门烧炭火，老两口叫不醒了"),
    ("missing child", "小娃放学到现在没回家，到处找不着"),
    ("missing elder", "老爹有点痴呆，早上走出去就找不到了"),
    ("mental illness + weapon", "那个精神病又犯了，拿着镰刀在村头"),
    ("arson threat with means", "他提着汽油说今晚要烧了我家"),
    ("murder threat with weapon", "他拿着刀说要杀了我"),
    ("death after treatment", "我妈在卫生院输了液人就没了"),
    ("family violence with blood", "男人喝醉了打我，满脸是血"),
    ("sexual assault", "我女儿被人猥亵了"),
    ("crowd blocking, Chinese numeral", "十几个人把村口的路堵了"),
    ("crowd blocking, range numeral", "二三十个村民围住了镇政府"),
    ("crowd blocking, Arabic numeral", "40多人堵在工地门口"),
    ("suicide told indirectly", "我妈把存折交给我，说以后你们好好过，她撑不下去了"),
    ("self-immolation", "他说要去政府门口点火烧自己"),
    ("fight in progress, dialect", "他们打捶打起来了，还在打"),
    ("cry for help", "救命"),
    ("strangling", "他把他媳妇按在床上掐住脖子"),
    ("cutting oneself", "我妹在厕所里拿刀片把自己手腕割了"),
    ("a means carried away", "我爸说活着真累，刚才拿根绳子往后山走了"),
    ("belongings given away with despair", "奶奶说不想治了，把银行卡密码都告诉了我们"),
    ("fallen into water, any word order", "我的弟弟 河里掉了 冲走了"),
    ("someone alone not seen for days", "隔壁独居的老人五天没开门了"),
    ("fire moving toward homes", "对面山冒黑烟，火正往我们村子这边过来"),
    ("a head split open", "喝酒打起来了，他拿板凳把人家脑壳打破了"),
    ("a push from a height", "他把我爹从坎子上推下去了，现在动不了"),
    ("a knife at the door, asked as a question", "他拿刀在门口我该怎么办"),
    ("words typed with spaces between them", "有个人 拿着斧头 在我家 门口 转"),
    ("fuel splashed on a house", "他在我家墙上浇了柴油"),
    ("a cigarette burn on a child", "他拿烟头烫娃娃的手"),
    ("a standoff on a height", "我弟站在桥上哭，喊他别过来"),
    ("taking a child along in death", "她说日子过不下去了，要带着孩子一起死"),
    ("water around a person", "发大水了，我爹在田里，水已经齐腰了"),
    ("held by the current", "我儿子碰到电线被电住了"),
    ("a fall and no answer", "我爷爷跌了一跤，叫他也不吭声"),
    ("a seizure", "娃娃发烧抽风，翻白眼了"),
    ("groping a child", "邻居老头摸我女儿下面"),
    ("a machine hitting a worker", "铲车把一个工人压到了，人不动了"),
    ("a blast that hurt someone", "开山放炮把放羊的炸伤了"),
    ("a robbery that hurt someone", "有人抢了我妈的包，把她拖倒了，膝盖都是血"),
    ("despair with a time", "我撑不下去了，今晚就跟这个世界说再见"),
    ("standing by the water and not leaving", "我嫂子跟我哥吵完架，一个人在水库边哭"),
    ("a locked door and despair", "我弟把自己关在房间里，门反锁了，说不想再这样下去"),
    ("a fire that cannot be held", "后山的火压不住了，大家快来"),
    ("a body in the water", "鱼塘里漂着个人"),
    ("a wall bulging over homes", "挡墙往外鼓出来了，下面就是我们住的房子"),
    ("an overdose by a child", "小孙子误吃了爷爷的安眠药，现在迷迷糊糊的"),
    ("a stroke", "我妈嘴角歪了，半边身子没力气"),
    ("choking", "娃娃吃糖卡在喉咙里了，脸都憋紫了"),
    ("a snakebite", "我爸上山被毒蛇咬了"),
    ("a crash with people inside", "拖拉机翻到沟里了，车上有人"),
    ("a weapon carried toward someone", "他抄起一把镰刀就冲出去了"),
    ("hurt by a weapon, passive", "我表哥被钢管打了"),
    ("a drunk rage with children hiding", "他又在耍酒疯，碗都摔了，孩子们躲在柜子后面"),
    ("a conditional threat with fuel", "他提着汽油说再不赔钱就点了他家"),
    ("labour", "媳妇羊水破了，车还没来"),
    ("pinned under something", "搬石头的时候腿被压住了"),
    ("children without food for days", "隔壁两个孩子三天没吃饭了"),
    ("a head beaten against a wall", "他按着我的头往墙上撞"),
    ("boiling water thrown", "他把一壶开水泼到我妈脸上"),
    ("wounded, told in the passive", "我弟被人用玻璃划伤了脖子"),
    ("a farewell, then unreachable", "我哥发消息叫我照顾好爸妈，现在电话关机了"),
    ("a poison taken for a drink", "小孙子把杀虫的药当饮料喝了"),
    ("a swallowed battery", "娃娃吞了一颗电池"),
    ("bleeding after giving birth", "我老婆刚生完孩子，血止不住"),
    ("two clans with weapons", "两家人都叫了人，拿着家伙在村口对峙"),
    ("a wire on the ground", "电线掉在地上冒火花"),
    ("a pregnant woman kicked", "她怀着孕，被她男人踢了肚子"),
    ("a note left behind", "女儿留了张纸条说不要找我，人不在家了"),
    ("a rotten-egg smell", "屋里一股臭鸡蛋味，头有点晕"),
    ("no answer through a bathroom door", "我爸洗澡一个多小时了，敲门不应"),
    ("a boat overturned", "我叔在水库打鱼，船翻了"),
    ("a mine roof fell", "煤洞冒顶了，里面有两个人"),
    ("a child carried into a van", "有个人把我家孩子抱上车开走了"),
    ("locked in by others", "我被他们锁在屋里，手机也被拿了"),
    ("longing to be released, gone off alone", "我爸说活着太苦了想早点解脱，刚才一个人出去了"),
    ("sitting on a railway", "有个人坐在铁轨上不走"),
    ("charcoal behind a locked door", "他在屋里烧炭，门反锁着"),
    ("a goring bull still trampling", "疯牛把我叔撞倒了，还在踩他"),
    ("pinned under a wheel", "倒车的时候把人压在轮子下面了"),
    ("an armed man near children", "幼儿园外面有个男的拿着菜刀"),
    ("a wild elephant tramples a person", "野象把放牛的老倌踩了"),
    ("no breath after no answer, dialect 没得", "我爹喊不醒 没得呼吸了"),
    ("a child tied up and beaten", "后妈把娃娃绑起来打"),
    ("a bite that tore flesh away", "狗把我儿子腿上的肉咬掉一块"),
    ("burnt under a power pole", "电杆下面躺着一个人，身上烧焦了"),
    ("alone, neglected and too weak to rise", "独居老人好几天没人管了，起不来床"),
    ("a gas pipe dug through", "修路把天然气管子挖坏了，一直在喷"),
    ("a stroke happening now", "我外公脑梗了，倒在地上说不出话"),
    ("choking on food", "孩子吃葡萄卡住了，咳不出来"),
    ("current in water, someone down", "鱼塘边的水带电，我叔刚才碰了一下就晕了"),
    ("locked up and starved", "他们把老人锁在猪圈里，几天不给饭吃"),
    ("stabbing whoever is near", "有个疯子在菜市场见人就捅"),
    ("self-harm in progress", "我弟在屋里拿刀划自己的手"),
    ("rat poison eaten as a snack", "娃娃把灭鼠药当零食吃了"),
    ("clothes torn off", "有个男的在路边撕她衣服"),
    ("a pond bank broken open", "鱼塘埂子冲开一个豁口，水往下面人家冲"),
    ("abuse and an order to keep it secret", "我被姑父摸了，他说不许告诉我妈"),
    ("a throat held, with a possessive", "他掐住她的脖子不放"),
    ("water at the thighs and rising", "水已经到大腿了，还在涨"),
    ("a fall head first", "我爸刚才从梯子上摔下来，头先着地"),
    ("one side of the face numb", "我妈突然一边脸麻，说话不清楚"),
    ("a flooded mine", "煤矿透水了，井下还有人"),
    ("a slang murder threat with a knife", "他说今晚就去做了他，刀都带上了"),
    ("mouldy food, a family down", "吃了发霉的洋芋，全家都在拉，奶奶起不来"),
    ("a chemical smell making people ill", "农药厂飘过来一股刺鼻的味道，好几个人咳嗽头晕"),
    ("lost on the mountain", "我爸上山放羊迷路了，天快黑了"),
    ("heat stroke", "爷爷在田里中暑了，迷迷糊糊的"),
    ("a crash and someone silent", "车翻到沟里，我妈在里面不吭声"),
    ("a vehicle into a crowd", "一辆车刹不住冲进人群了"),
    ("pills by the count and a farewell", "她吃了五十多片药，说别找她"),
    ("a hanging told as 把自己吊", "我舅把自己吊在房梁上"),
    ("a stab in three words", "他捅我"),
    ("taken ill, then the call drops", "我爸说他胸口痛站不起来，电话就挂了"),
    ("a house burning with people inside", "他家房子在烧，里面有人"),
    ("met a wild boar, not a hypothesis", "上山砍柴的时候遇到野猪，我哥被拱伤了，腿上在流血"),
    ("a wild elephant killed someone", "野象把巡护员踩死了"),
    ("a child dragged into a van", "有人把一个小孩拽进了面包车"),
    ("a wall blown onto children", "围墙被大风刮倒了，压着两个学生"),
    ("pinyin cry for help", "jiuming 有人拿刀"),
    ("a gas bottle burst, someone hurt", "气罐爆了，我妈手上脸上都是伤"),
    ("a head split with a brick", "他拿砖头把人家头砸开了"),
    ("a stepfather in the room again", "后爸又半夜进我房间，我好害怕"),
    ("poison forced on someone", "他拿着农药逼她喝"),
    ("someone lying in the road", "有个人躺在马路中间一动不动"),
    ("a child beaten silent", "他把孩子打得没声音了"),
    ("a mother dying", "我妈快不行了"),
    ("a fall, then lying there (爬不起来 is no negation)", "走路摔了一跤爬不起来在地上躺了好久"),
    ("a child lost at a market", "孩子在集市上跟丢了"),
    ("bootleg liquor blinding people", "吃了散装酒，几个人眼睛看不见了"),
    ("a python round a limb", "大蛇缠住了我弟的手"),
    ("something poured into a water cellar", "有人往水窖里倒了东西，喝了的人都在吐"),
    ("a newborn not crying", "孩子生下来不哭，嘴唇发紫"),
    ("a child lured into a car", "有个男的想拉小孩上车"),
    ("a child climbing a power pole", "一个娃娃爬上电线杆了"),
    ("a syringe held at a school gate", "那个人拿着针管在学校门口"),
    ("a drunk driver hits a parent", "他酒驾把我妈撞了"),
    ("stung, unable to speak", "我奶奶被野蜂蜇了，说不出话"),
    ("a witness saw a child carried off", "我们村的老人说看到有人把一个小孩抱走了"),
    ("run over by a rear wheel", "他的腿被拖拉机后轮压过去了"),
    ("a pungent smell and coughing", "我叔家仓库有股刺鼻的怪味，几个人都在咳"),
    ("a stabbing fight breaking out", "两伙人在夜市捅起来了"),
    ("home-made fermented food, drooping eyelids", "吃了自家做的臭豆腐，我爸眼皮耷拉，吞咽困难"),
    ("a madwoman with a knife", "那个疯女人拿着刀在街上"),
    ("a hand in a shredder", "娃娃的手伸进了粉碎机"),
    ("caught by a blast (没躲开 is no negation)", "放炮的时候没躲开，被炸到了"),
    ("cut, dialect passive 遭人砍", "我老表遭人砍了"),
    ("setting a house alight", "他在点他家房子"),
]


@pytest.mark.parametrize(("kind", "text"), RED)
def test_each_kind_of_danger_is_red(kind: str, text: str) -> None:
    result = assess_risk(text)
    assert result.level == "red", (kind, result)
    assert classify(text).risk_level == "red", kind


ORANGE = [
    ("threat without means", "他放话说迟早要弄死我"),
    ("a threat to burn a house", "他说要把我家房子烧了"),
    ("revenge after prison", "他说出狱了要找我报仇"),
    ("family violence", "老倌又动手了，经常这样"),
    ("crowd planning a petition", "村里三十几个人商量明天去县里上访"),
    ("house cracking", "我家房子墙上裂了好几条缝"),
    ("school bullying", "娃娃在学校被高年级的欺负，天天要钱"),
]


@pytest.mark.parametrize(("kind", "text"), ORANGE)
def test_serious_but_not_immediate_dangers_are_at_least_orange(kind: str, text: str) -> None:
    assert assess_risk(text).level in ("red", "orange"), kind


HARMLESS = [
    ("pig-killing feast", "下个月我家办杀猪饭，请全组来吃"),
    ("fire pit", "冬天在火塘边烤火，暖和得很"),
    ("vaccine", "娃娃要打疫苗了，卫生院哪天上班"),
    ("settled fight", "上个月跟邻居打了一架，村里已经调解好了"),
    ("law question", "打架了要负什么法律责任"),
    ("law question", "把人砍伤了要判几年"),
    ("figurative 想死", "想死你了老表"),
    ("figurative 笑死", "笑死了，这个视频"),
    ("figurative 气死", "气死我了，快递又丢了"),
    ("figurative 饿死", "饿死了，哪家米线好吃"),
    ("figurative 热死", "今天热死了"),
    ("figurative 累死", "累死了，栽了一天秧"),
    ("figurative 急死人", "急死人了，医保卡刷不了"),
    ("television", "电视里说外省有人吃菌子中毒了"),
    ("last year's story", "去年那场山火烧了我家林子，补偿还没下来"),
    ("rumour denied", "网上传水库要垮了，其实是谣言"),
    ("negation", "我们只是吵了几句，没有打架"),
    ("negation", "煤气罐检查过了，没有漏气"),
    ("crowd at a feast", "十几个人来我家吃饭"),
    ("crowd dancing", "二三十个人在广场上跳舞"),
    ("a job, not a child, is missing", "我家孩子找不到工作"),
    ("a card, not a person, is missing", "老人的社保卡不见了"),
    ("tyre leak", "电动车轮胎漏气了"),
    ("how to check", "燃气灶漏不漏气怎么检查"),
    ("fire hazard, not a fire", "楼道里堆满杂物，存在火灾隐患"),
    ("no progress", "申请了半年还没动静"),
    ("an event that never happened", "村里从来没有发生过火灾，就是消防设施少"),
    ("who is responsible", "打架双方都受伤了，怎么划分责任"),
    ("festive crowd", "火把节晚上几百个人围着篝火跳舞"),
    ("experiential past", "水库里淹死过人，要不要装个护栏"),
    ("a car, not a person, is 不行了", "我家的车不行了，开不动了"),
    ("paperwork after a death", "我舅舅上个月在医院去世了，医药费报销怎么办"),
    ("an animal fell in", "笑死，我家猫掉进水缸里了，自己爬出来了"),
    ("a dog went missing", "我家的狗走丢了，有人看到请联系我"),
    ("gas checked, no leak", "家里的煤气罐没有漏，是楼下垃圾桶的味道"),
    ("inspected and fine", "有人说我们村的水库裂了，水务局来看了说没问题"),
    ("a pesticide bottle, not a farewell", "农药瓶子乱丢在田边，有没有人来收"),
    ("durative 着 by a fire pit", "一家人围着火盆烤洋芋"),
    ("a fire-prevention meeting", "村里开会说要防山火，清明不准上山烧纸"),
    ("a tool at work", "拿锤子敲核桃，敲了一下午"),
    ("a kitchen cut", "切菜的时候菜刀切到手了，流了点血"),
    ("tired of work, not of living", "他说活着好累，想换个轻松点的工作"),
    ("a past accident, healed", "上个月我从树上摔下来，腿断了，现在好了"),
    ("more vaccine shots", "上次被狗咬了打了狂犬疫苗，还要打几针"),
    ("a phone off", "打了几次电话都关机，估计他手机没电了，晚上再打"),
    ("a question about what causes fires", "电动车在屋里充电会引起火灾吗"),
    ("children catching fish", "孩子们去河里摸鱼了"),
    ("a habit of the past, repaired", "这个坝以前经常垮，加固了以后就好了"),
    ("a digger for hire", "挖机一天租金多少钱"),
    ("basketball", "几个年轻人在打篮球"),
    ("a rescue already done", "网上有人直播跳河，后来被救上来了"),
    ("a thing of an old person is missing", "爷爷的眼镜不见了"),
    ("a dog poisoned", "我家狗被毒死了，怎么找人赔"),
    ("an idiom with 下药", "解决问题要对症下药"),
    ("a how-to question about a robbery", "遇到有人持刀抢劫应该怎么办"),
    ("a licence for knives", "开刀具店卖管制刀具要什么手续"),
    ("medicine that makes one dizzy", "我爸吃了降压药有点头晕，要不要换药"),
    ("a small cut while butchering", "帮邻居杀羊，手被刀划了一下"),
    ("a complaint dated years ago", "2021年我在工地摔了一跤摔伤了，工伤到现在还没认定"),
    ("a fire-safety demonstration", "消防员来村里演示液化气罐着火怎么灭"),
    ("a head that could burst", "娃娃吵得我头都要炸了"),
    ("a street-light wire", "路灯的电线断了，晚上黑漆漆的"),
    ("a video of unknown truth", "手机上看到有人开车掉进河里，不知道是不是真的"),
    ("sharpening a knife", "砍柴刀要去哪里磨"),
    ("a shower", "热水器的热水淋浴不够热"),
    ("a sore scar after a caesarean", "剖腹产后伤口有点痛正常吗"),
    ("a flood in another county", "听说隔壁县发洪水了，我们这里还好"),
    ("a demolition", "拆迁队把旧房子推倒了"),
    ("a bitten cow", "我家牛被蛇咬了，要不要找兽医"),
    ("a policy nobody explains", "政策到底怎么规定，谁都说不清楚"),
    ("an old scar", "年轻时候被人砍过一刀，现在疤还在"),
    ("a first-aid talk", "卫生院的医生来村里讲溺水急救"),
    ("a knife lent out", "我家的刀被邻居借走了还没还"),
    ("peeling paint", "墙皮掉了好多，想重新刷"),
    ("a flood dated by its year", "1998年村里发洪水冲走了几个人，那个河堤后来加高没有"),
    ("a goat, not a person, is lost", "我家羊跑丢了两只，找了一天没找着"),
    ("a poisoning in a drama", "这部剧的女主被人下毒了，好虐"),
    ("an elephant eats crops", "大象进村把我家苞谷踩了一大片，补偿咋个申请"),
    ("a knife in the kitchen", "他在厨房拿刀切菜"),
    ("a dream", "昨晚梦见我家房子着火了"),
    ("an old stroke", "我爹中风后半边身子不灵活，能办残疾证吗"),
    ("a zip stuck at dinner", "吃饭的时候拉链卡住了"),
    ("a dog shut in a cage", "把狗关在笼子里打了一顿"),
    ("waiting for the power", "停电了，什么时候来电，老人在家怕黑"),
    ("asthma and the weather", "我有哮喘，突然降温怎么办"),
    ("a groomsman drunk at a wedding", "婚礼上伴郎被灌醉了"),
    ("a pig killed for new year", "过年杀了一头猪，血流了一地，邻居都来帮忙"),
    ("a dog run over", "我家那只狗被车撞死了"),
    ("how to give first aid", "我想了解一下触电了怎么急救"),
    ("a temper like a powder keg", "他脾气就是个火药桶，一点就炸"),
    ("asking how to tell if someone breathes", "有没有呼吸要怎么判断"),
    ("homework called 救命", "救命 这道题我不会"),
    ("a price that kills", "这个价格要出人命了"),
    ("a pan fire put out at once", "锅里的油着火了，盖上盖子就灭了"),
    ("a phone in the river", "手机掉到河里了，能捞上来吗"),
    ("a drowning rumour proved false", "说水库里有人淹死，后来证实是一件衣服"),
    ("a worker kept by his boss", "老板押着身份证不给走"),
    ("a warning video", "这个视频是去年外地电动车着火的，大家引以为戒"),
    ("a bang and no harm", "煤气灶嘭的一声，还好没事"),
    ("a gas smell found and fixed", "闻到煤气味，检查了是阀门没关好，已经关了"),
    ("a fire only supposed (没人管了，万一…)", "村里的消防栓坏了，万一着火怎么办"),
    ("an old person in poor health", "老人身体不行了，想申请补助"),
    ("a suspected gas leak, asked to check", "燃气表走得快，是不是漏了，能不能派人来查一下"),
    ("a horror film", "看了个恐怖片，里面有人被砍死"),
    ("is a gas smell normal?", "天然气灶有点气味，正常吗"),
    ("a pond bank to mend", "水塘的埂子有点漏水，想申请维修"),
    ("falling out with the family", "爹生前写了遗嘱，哥哥不认，继承闹翻了"),
    ("a bump on the pitch", "球场上两个人撞到一起了，起来又继续踢"),
    ("the price of a mincer", "绞肉机多少钱一台"),
    ("a near miss", "没注意到车，还好没撞到"),
    ("a tree cut down by someone", "他家的树被人砍了"),
]


@pytest.mark.parametrize(("kind", "text"), HARMLESS)
def test_harmless_look_alikes_are_not_red(kind: str, text: str) -> None:
    result = assess_risk(text)
    assert result.level != "red", (kind, result)
    assert classify(text).risk_level != "red", kind


def test_a_joke_is_capped_at_orange_so_a_person_still_reads_it() -> None:
    assert assess_risk("我要跳楼 哈哈 开玩笑的").level == "orange"


def test_a_frame_is_denied_only_by_a_negation_right_before_it() -> None:
    assert assess_risk("这不是开玩笑，他真的要跳河").level == "red"
    assert assess_risk("有人说猪肉吃了会中毒，是不是谣言").level != "red"


def test_a_threat_he_always_makes_and_never_keeps_is_orange_not_red() -> None:
    assert assess_risk("他每次都这么说要去跳河，从来没跳过").level == "orange"


def test_a_dampener_does_not_hide_what_is_happening_now() -> None:
    assert assess_risk("去年他就打过我，今晚又拿着刀来了，现在还在门口").level == "red"


def test_a_dampened_danger_is_shown_to_the_dispatcher_as_dampened() -> None:
    result = classify("去年村里打架有人被砍伤，早就调解好了")
    assert result.risk_level != "red"
    assert any("(dampened:" in s for s in result.risk_signals), result.risk_signals


def test_long_ago_does_not_hide_what_happened_again_yesterday() -> None:
    assert assess_risk("以前他就打过我，昨天晚上又拿刀砍我").level == "red"
    assert assess_risk("前年那次打架他被砍伤了，早就好了").level != "red"


def test_an_arson_threat_is_orange_and_goes_to_the_police() -> None:
    result = classify("老板不给工钱，我那个工友说要去把老板家烧了")
    assert (result.risk_level, result.department) == ("orange", "police")


def test_a_threat_is_not_dampened_by_a_past_story() -> None:
    # "the one who reported him back then" is the past; the threat is about the future
    assert assess_risk("刚放出来的那个人说要找当年举报他的人算账").level == "orange"


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("十几", 12), ("二三十", 20), ("一两百", 100), ("几十", 20), ("35", 35),
     ("两百", 200), ("五六", 5), ("三十", 30)],
)  # fmt: skip
def test_chinese_numerals_are_read_as_a_lower_bound(numeral: str, value: int) -> None:
    assert count_value(numeral) == value


def test_people_are_counted_only_when_the_number_counts_people() -> None:
    assert people_counted("村里十几个人在堵路")[0] == 12
    assert people_counted("二三十号人")[0] == 20
    assert people_counted("几十户人家")[0] == 20
    assert people_counted("十来个人")[0] == 10
    assert people_counted("二三十桌酒席")[0] == 0  # tables, not people


def test_a_negation_does_not_cancel_a_thing_or_a_condition() -> None:
    # 不认识的菌子 still names a mushroom; 不给钱就… is a condition, not a negation
    assert assess_risk("吃了不认识的菌子，一家人都在吐").level == "red"
    assert assess_risk("他拿着刀说不给钱就要我的命").level == "red"


def test_a_durative_zhe_is_not_read_as_a_passive() -> None:
    # 提着 / 揣着 = holding (dialect 着 + verb = 被 only after a subject)
    assert "提着" in default_classifier().normalise("他提着杀猪刀")
    assert assess_risk("有个人揣着一把匕首在学校外面转").level == "red"


def test_dialect_forms_are_understood() -> None:
    assert assess_risk("我家老倌着人打了，头上淌血").level == "red"  # 着 = 被
    assert assess_risk("他们说要整死我兄弟，拿着刀来了").level == "red"  # 整死
    assert assess_risk("咋个整，娃娃掉进水塘头了").level == "red"


@pytest.mark.parametrize(
    "text",
    [
        "我家娃娃着隔壁家的狗咬了，腿上流血",
        "我家娃娃着隔壁家的狗咬了，要打狂犬疫苗",
        "我家娃娃着隔壁家的狗咬了，腿上流血，要打狂犬疫苗",
    ],
)
def test_an_animal_bite_is_an_injury_for_health_whatever_words_tell_it(text: str) -> None:
    result = classify(text)
    assert (result.risk_level, result.department, result.category) == ("orange", "health", "C6")


def test_a_bite_does_not_turn_a_real_fight_into_a_health_matter() -> None:
    assert classify("他们拿刀砍人，有人流了好多血").department == "police"


def test_choosing_a_category_recomputes_the_risk_from_text_and_category() -> None:
    text = "隔壁家的鸡天天跑到我家菜地里"
    assert classify(text, category="C18").risk_level == "blue"  # a service category: blue
    assert classify(text, category="D04").risk_level == "yellow"  # a dispute: yellow
    chosen = classify(text, category="D04")
    assert (chosen.category, chosen.department, chosen.confidence) == ("D04", "justice", 1.0)


def test_choosing_a_category_keeps_the_danger_and_its_lead() -> None:
    result = classify("他拿着菜刀在我家门口说要砍死我全家", category="D04")
    assert result.risk_level == "red"
    assert result.category == "D04"
    assert result.department == "police"  # violence: the police lead whatever the topic


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        classify("有人打架", category="Z99")
    with pytest.raises(ValueError, match="unknown category"):
        assess_risk("有人打架", category="Z99")


def test_assess_risk_agrees_with_classify_on_red_and_orange() -> None:
    for _kind, text in RED + ORANGE + HARMLESS:
        quick, full = assess_risk(text), classify(text)
        if full.risk_level in ("red", "orange") or quick.level in ("red", "orange"):
            assert quick.level == full.risk_level, text


def test_assess_risk_names_the_department_that_must_act_first() -> None:
    assert assess_risk("他拿刀砍人").department == "police"
    assert assess_risk("身份证怎么补办").department is None


def test_assess_risk_handles_empty_symbols_and_very_long_text() -> None:
    assert assess_risk("").level == "blue"
    assert assess_risk("？？？!!!").level == "blue"
    assert assess_risk("我们村的路不好走。" * 600 + "现在有人拿刀砍人").level == "red"
    with pytest.raises(TypeError):
        assess_risk(None)  # type: ignore[arg-type]


def test_the_danger_model_is_safe_to_share_between_threads() -> None:
    texts = [t for _k, t in RED + HARMLESS]
    expected = [assess_risk(t).level for t in texts]
    engine = default_classifier()
    errors: list[str] = []

    def work() -> None:
        for _ in range(20):
            got = [engine.assess_risk(t).level for t in texts]
            if got != expected:
                errors.append("different result")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize(
    "text",
    [
        "我给他家帮忙砍树被树砸伤了，他家一分钱不出",
        "上山砍柴被滚下来的石头砸了头，包工头说医药费他不管",
        "帮亲戚盖房子从架子上摔下来腿断了，现在两家为医药费扯皮",
    ],
)
def test_a_past_accident_told_as_a_pay_dispute_is_not_violence_nor_an_emergency(
    text: str,
) -> None:
    result = assess_risk(text)
    assert result.level != "red", result
    assert result.department != "police", result


@pytest.mark.parametrize(
    "text",
    [
        "帮他家砍树被树砸了，现在人还昏迷着",
        "他拿砖头砸伤了我的头，医药费一分钱不出",
        "他从架子上摔下来，还在流血，老板不肯赔",
    ],
)
def test_violence_or_an_injury_now_stays_red_beside_a_pay_dispute(text: str) -> None:
    assert assess_risk(text).level == "red"


def test_violence_needs_a_human_attacker() -> None:
    assert assess_risk("他拿砖头砸伤了我的头").department == "police"
    assert assess_risk("修房子的时候被掉下来的砖头砸伤了头").department != "police"
